"""Internals of the untrusted search; its interface is `pxl_prover.tableau.search`."""
