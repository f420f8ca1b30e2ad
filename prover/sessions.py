"""Long-lived Coq sessions: one coqtop process with the PXL kernel loaded, reused per check.

Starting Coq and loading the kernel costs far more than checking a certificate, so a
session loads the kernel once, checks a certificate sentence by sentence and then
returns to the kernel-loaded state with `BackTo`, ready for the next one.

What a proof rests on is checked, not assumed: `certificate.read` admits only proofs
of the form `apply (tableau_L _ t)` + VM cast with `t` built from kernel constructors
alone, so the proof's axioms are exactly those of the lemma `tableau_L`, which Coq
reports with `Print Assumptions` (asked once per kernel and logic: the answer
cannot change while the kernel does not, and the command walks every opaque proof the
lemma depends on, which costs a few hundred milliseconds). A session that errors in a way it cannot
recover from, hangs past its timeout, or dies is closed; its owner replaces it.
"""

from __future__ import annotations

import contextlib
import re
import resource
import signal
import subprocess
import threading
import time
from dataclasses import dataclass

import pexpect
from pexpect.fdpexpect import fdspawn

from . import certificate
from .kernel import (
    CERTIFICATE_MODULES,
    DECLARED_AXIOMS,
    LOGICAL_NAME,
    CompiledKernel,
    parse_assumptions,
)

# (kernel hash, lemma) -> the axioms Coq reports for the lemma; shared by all sessions.
_ASSUMPTIONS: dict[tuple[str, str], tuple[str, ...]] = {}

PROMPT = re.compile(r"<prompt>\S+ < (\d+) \|[^|]*\| \d+ < </prompt>")
IMPORT_SENTENCE = f"From {LOGICAL_NAME} Require Import {' '.join(CERTIFICATE_MODULES)}"
START_TIMEOUT_S = 60.0
# Inputs up to this size fit in a pipe's buffer and are written directly.
_DIRECT_WRITE_BYTES = 16384


class SessionError(RuntimeError):
    """The session can no longer be used; its owner must replace it."""


class SessionDied(SessionError):
    """The coqtop process exited (crash, OOM kill, signal)."""


class SessionOutOfMemory(SessionDied):
    """coqtop exited because it ran out of memory (its RLIMIT_AS, PXL_SESSION_MEMORY_MB):
    the certificate it was checking would kill any session with the same cap."""


class SessionTimeout(SessionError):
    """Coq did not answer within the time allowed; the process was killed."""


@dataclass(frozen=True)
class CheckResult:
    accepted: bool
    assumptions: tuple[str, ...]
    message: str
    elapsed_ms: float


def _coq_limits(limit_mb: int | None):
    """Limits for a coqtop child: the memory cap (RLIMIT_AS) when one is set, and as much
    stack as the hard limit allows — coqtop, unlike coqc, overflows the default 8 MiB stack
    on certificates for goals nested a few hundred deep."""

    def apply() -> None:
        _, hard_stack = resource.getrlimit(resource.RLIMIT_STACK)
        resource.setrlimit(resource.RLIMIT_STACK, (hard_stack, hard_stack))
        if limit_mb:
            size = limit_mb * 1024 * 1024
            resource.setrlimit(resource.RLIMIT_AS, (size, size))

    return apply


class CoqSession:
    """One coqtop process with the kernel loaded. Not thread-safe: one check at a time."""

    def __init__(self, kernel: CompiledKernel, *, memory_limit_mb: int | None = None) -> None:
        self.kernel = kernel
        self.kernel_hash = kernel.hash
        self.uses = 0
        # Plain pipes (a pty would cut lines at 4096 bytes) read through pexpect's
        # fd-based spawn, which waits with select rather than polling a reader thread.
        self._process = subprocess.Popen(
            ["coqtop", "-emacs", "-quiet", *kernel.load_args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            preexec_fn=_coq_limits(memory_limit_mb),
        )
        self._reader = fdspawn(
            self._process.stdout, encoding="utf-8", codec_errors="replace", use_poll=True
        )
        self._reader.delayafterread = None  # pexpect sleeps after every read by default
        self.pid: int = self._process.pid
        self._closed = False
        self._state = self._wait(START_TIMEOUT_S)[1]
        output, self._state = self._run(IMPORT_SENTENCE + ".", START_TIMEOUT_S)
        if "Error" in output:
            self.close()
            raise SessionError(f"the kernel did not load: {output.strip()}")

    def alive(self) -> bool:
        return not self._closed and self._process.poll() is None

    def close(self) -> None:
        """End the coqtop process (politely, then by force)."""
        if self._closed:
            return
        self._closed = True
        try:
            self._process.stdin.close()
            self._process.wait(timeout=1)
        except Exception:  # noqa: BLE001 - a session that will not end politely is killed
            self._abandon()
        with contextlib.suppress(OSError):
            self._process.stdout.close()

    def _wait(self, timeout_s: float) -> tuple[str, int]:
        try:
            self._reader.expect(PROMPT, timeout=max(timeout_s, 0.001))
        except pexpect.TIMEOUT as exc:
            self._abandon()
            raise SessionTimeout(f"Coq did not answer within {timeout_s:.1f} s") from exc
        except pexpect.EOF as exc:
            self._abandon()
            if _died_of_memory(self._reader.before, self._process.returncode):
                raise SessionOutOfMemory("Coq ran out of memory and exited") from exc
            raise SessionDied("the Coq process exited") from exc
        return self._reader.before, int(self._reader.match.group(1))

    def _send(self, text: str) -> None:
        """Write to coqtop. Large inputs go from a helper thread, so that Coq answering
        (say, an error that repeats a huge term) can never block on a full pipe while
        this thread blocks writing."""
        if not self.alive():
            raise SessionDied("the Coq process is not running")
        data = text.encode()
        if len(data) <= _DIRECT_WRITE_BYTES:
            self._write(data)
        else:
            threading.Thread(target=self._write, args=(data,), daemon=True).start()

    def _write(self, data: bytes) -> None:
        try:
            self._process.stdin.write(data)
            self._process.stdin.flush()
        except (OSError, ValueError):
            self._abandon()

    def _run(self, sentence: str, timeout_s: float) -> tuple[str, int]:
        self._send(sentence + "\n")
        return self._wait(timeout_s)

    def _abandon(self) -> None:
        self._closed = True
        if self._process.poll() is None:
            self._process.kill()
        with contextlib.suppress(Exception):  # nothing more can be done for a stuck process
            self._process.wait(timeout=5)

    def _lemma_assumptions(self, lemma: str, deadline: float) -> tuple[str, ...]:
        key = (self.kernel_hash, lemma)
        recorded = self.kernel.assumptions.get(lemma)
        if recorded is not None:
            return recorded
        if key not in _ASSUMPTIONS:
            output, _ = self._run(f"Print Assumptions {lemma}.", deadline - time.monotonic())
            if "Error" in output:
                raise SessionError(f"the kernel has no lemma {lemma}: {_error_text(output)}")
            _ASSUMPTIONS[key] = parse_assumptions(output)
        return _ASSUMPTIONS[key]

    def check(self, source: str, theorem: str, timeout_s: float = 30.0) -> CheckResult:
        """Have Coq check a certificate; accepted only if Coq took every sentence and the
        proof rests on no axiom beyond the kernel's declared ones."""
        started = time.monotonic()
        deadline = started + timeout_s
        try:
            shape = certificate.read(source, theorem)
        except certificate.CertificateFormatError as exc:
            return CheckResult(False, (), str(exc), 0.0)
        self.uses += 1
        message = ""
        assumptions: tuple[str, ...] = ()
        # One write, then one prompt per line: coqtop answers every line, even after an
        # error, and the trailing BackTo restores the kernel-loaded state either way.
        lines = [*shape.sentences, f"BackTo {self._state}."]
        self._send("\n".join(lines) + "\n")
        for _ in shape.sentences:
            output, _ = self._wait(deadline - time.monotonic())
            if "Error" in output and not message:
                message = _error_text(output)
        _, state = self._wait(max(deadline - time.monotonic(), 1.0))
        if state != self._state:
            self._abandon()
            raise SessionError("Coq did not return to the kernel-loaded state")
        if not message:
            assumptions = self._lemma_assumptions(shape.lemma, deadline)
            undeclared = sorted(set(assumptions) - DECLARED_AXIOMS)
            if undeclared:
                message = f"proof depends on undeclared axioms: {', '.join(undeclared)}"
        elapsed = (time.monotonic() - started) * 1000
        return CheckResult(not message, assumptions, message or "accepted", elapsed)


def _died_of_memory(last_output: object, returncode: int | None) -> bool:
    """The OCaml runtime's last words when an allocation fails past RLIMIT_AS are
    `Fatal error: out of memory`, followed by abort()."""
    said = isinstance(last_output, str) and "Fatal error: out of memory" in last_output
    return said or returncode == -signal.SIGABRT


def _error_text(output: str) -> str:
    """The Coq error message without the echo of the input it came from."""
    start = output.find("Error:")
    text = output[start:] if start >= 0 else output
    return " ".join(text.split())[:2000]
