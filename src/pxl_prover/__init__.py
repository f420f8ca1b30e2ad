"""PXL prover: modal goals in, Coq-checked proofs or checked countermodels out."""

__version__ = "0.1.0"
