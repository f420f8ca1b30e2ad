"""Long-lived Coq sessions: one coqtop process with the PXL kernel loaded, reused per check.

Starting Coq and loading the kernel costs far more than checking a certificate, so a
session loads the kernel once, checks a certificate and then returns to the kernel-loaded
state with `BackTo`, ready for the next one. A check is one write: one line with the
theorem as a definition and, when needed, `Print Assumptions` of it; then, every
`KEEP_THEOREMS` checks, after a large certificate or after a rejection, `BackTo`.
(`Theorem T : S. Proof t.` is `Theorem T : S. Proof. exact t. Qed.`; the kernel checks `t`
against `S` exactly as it does for `Definition T : S := t.`, which spares Coq the proof
mode and its goal display.) Numerals below 1024 are sent as the kernel's constants for
them (`7` as `nm7`, coq/Numerals.v): Coq reads a numeral by running its number notation's
conversion function, a constant by a name lookup (twice as fast on large certificates).

"Checked by Coq" fails closed:
  * coqtop starts with `-q` (no coqrc) in an environment without the caller's HOME, XDG,
    COQPATH or OCAMLPATH (`kernel.coq_environment`), from a kernel build whose `.vo` files
    match the build's manifest: nothing but Coq's standard library and the kernel is loaded.
  * A certificate is handed to Coq only in the shape the gate admits (`check.gate.read`),
    and accepted only on a positive answer (`check.acceptance.judge`): Coq said the theorem is
    defined, with the claim we sent as its type, and no proof left open. An error, an
    anomaly, a warning, or output of any other shape is not an acceptance. When the session
    starts it checks that Coq reads claims as they are written
    (`check.acceptance.reads_as_written`; a session where it does not is not used), and
    sends numerals as constants only once Coq has proved each constant equal to its
    numeral (`NUMERALS_AUDIT`, by `eq_refl`, resting on nothing).
  * What the proof rests on is `Print Assumptions` of the checked theorem itself. It walks
    every opaque proof the theorem depends on (about half a second, several times a whole
    check), so it is asked of the first theorem checked with each kernel lemma, and the
    answer kept for that lemma, for every session started the same way (same kernel build,
    same command line, same clean environment: the same global environment):
    `check.gate.read` admits only `lemma _ t` + the VM cast with `t` built from kernel
    constructors alone, and a session's environment is the kernel's plus theorems checked
    earlier under fresh names (`pxl_goal_<n>`), which no certificate can mention (a small
    accepted theorem stays defined until `KEEP_THEOREMS` have been, then `BackTo` returns to
    the kernel-loaded state: it costs a sixth of a small check), so every later certificate
    of that lemma elaborates to a term over the same constants.
A session that errors in a way it cannot recover from, hangs past its timeout, or dies is
closed; its owner replaces it.
"""

from __future__ import annotations

import contextlib
import os
import re
import resource
import select
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from typing import BinaryIO

from .check.acceptance import (
    AUDIT_CLAIM,
    Rejected,
    Transcript,
    judge,
    reads_as_written,
    undeclared_axioms,
)
from .check.gate import CertificateFormatError, read
from .kernel import (
    CERTIFICATE_MODULES,
    LOGICAL_NAME,
    CompiledKernel,
    coq_environment,
)

# (kernel hash, build folder, coqtop arguments, lemma) -> what `Print Assumptions` said of
# a theorem checked with that lemma; shared by the sessions started that way.
_ASSUMPTIONS: dict[tuple[str, str, tuple[str, ...], str], tuple[str, ...]] = {}

# The prompt coqtop -emacs prints after every sentence: the state number and the proofs open.
PROMPT = re.compile(rb"<prompt>\S+ < (\d+) \|([^|]*)\| \d+ < </prompt>")
_PROMPT_START = b"<prompt>"
# What one read takes from the pipe: a long answer (a statement shown back) arrives in a
# few reads.
_READ_BYTES = 65536
# -q: no coqrc; -quiet: no start-up chatter.
COQTOP_ARGS = ("-emacs", "-q", "-quiet")
IMPORT_SENTENCE = f"From {LOGICAL_NAME} Require Import {' '.join(CERTIFICATE_MODULES)}"
START_TIMEOUT_S = 60.0
EXIT_WAIT_S = 1.0  # for a process whose output ended to finish exiting
# `Print Assumptions` of a theorem walks the kernel's proofs; asked once per session and
# lemma, it may take this long even when the request that triggers it has less time left.
ASSUMPTIONS_TIMEOUT_S = 60.0
# Inputs up to this size fit in a pipe's buffer and are written directly.
_DIRECT_WRITE_BYTES = 16384
# A checked theorem stays defined (under a fresh name) while the session has kept fewer than
# this many since it was last in its kernel-loaded state, and its definition is this short.
KEEP_THEOREMS = 100
KEEP_CHARS = 4096
# The kernel's constants for numerals (coq/Numerals.v): `nm0` .. `nm1023`.
NUMERAL_CONSTANTS = 1024
_CONSTANT_OF = {str(value): f"nm{value}" for value in range(NUMERAL_CONSTANTS)}
# Each constant is its numeral, by unfolding it (a kernel without the constants fails it,
# and its sessions send numerals as they are).
NUMERALS_AUDIT = (
    "Definition pxl_numerals : @eq (list N) ["
    + "; ".join(_CONSTANT_OF.values())
    + "]%list ["
    + "; ".join(f"{value}%N" for value in _CONSTANT_OF)
    + "]%list := eq_refl."
)


class SessionError(RuntimeError):
    """The session can no longer be used; its owner must replace it."""


class SessionDied(SessionError):
    """The coqtop process exited (crash, OOM kill, signal)."""


class SessionOutOfMemory(SessionDied):
    """coqtop exited because it ran out of memory (its RLIMIT_AS, PXL_SESSION_MEMORY_MB):
    the certificate it was checking would kill any session with the same cap."""


class SessionKilled(SessionDied):
    """coqtop was killed outright (SIGKILL), not by its owner: the kernel's OOM killer, when
    the memory cgroup it runs in (a pod's memory limit) was full. Unlike `SessionOutOfMemory`
    this need not be the certificate's doing alone: the other sessions filled the cgroup too."""


class SessionTimeout(SessionError):
    """Coq did not answer within the time allowed; the process was killed."""


@dataclass(frozen=True)
class CheckResult:
    accepted: bool
    assumptions: tuple[str, ...]
    message: str
    elapsed_ms: float
    # Coq reported running out of memory (and kept going, its heap in an unknown state):
    # the answer is no verdict, and the session is to be replaced.
    out_of_memory: bool = False


class OutputEnded(Exception):
    """The pipe reached its end (the process exited) before the next prompt; `output` is
    what came after the last prompt."""

    def __init__(self, output: str) -> None:
        super().__init__("the output ended before a prompt")
        self.output = output


class PromptReader:
    """Coq's output read straight from its pipe, one answer (the text up to the next
    prompt) at a time. Cheaper than a general expect loop, which the hot path of every
    check paid for: one `poll` object for the session's life, the prompt searched only from
    where one can still start rather than over the whole buffer after every read, and each
    answer decoded once (UTF-8, undecodable bytes replaced). Output after a prompt stays
    buffered for the next answer (a check writes several sentences at once)."""

    def __init__(self, pipe: BinaryIO) -> None:
        self._fd = pipe.fileno()
        self._poll = select.poll()
        self._poll.register(self._fd, select.POLLIN)
        self._buffer = bytearray()
        self._scan = 0  # no prompt in the buffer starts before this offset

    def until_prompt(self, timeout_s: float) -> tuple[str, int, str]:
        """The output before the next prompt, the prompt's state number and the proofs it
        names open. TimeoutError if no prompt is complete within `timeout_s` (at least a
        millisecond), OutputEnded if the pipe ends first."""
        deadline = time.monotonic() + max(timeout_s, 0.001)
        buffer = self._buffer
        while True:
            start = buffer.find(_PROMPT_START, self._scan)
            if start < 0:
                self._scan = max(self._scan, len(buffer) - len(_PROMPT_START) + 1)
            else:
                self._scan = start
                match = PROMPT.search(buffer, start)
                if match is not None:
                    before = buffer[: match.start()].decode("utf-8", "replace")
                    state, opened = int(match.group(1)), match.group(2).decode("utf-8", "replace")
                    del buffer[: match.end()]
                    self._scan = 0
                    return before, state, opened
            left_ms = (deadline - time.monotonic()) * 1000
            if left_ms <= 0 or not self._poll.poll(left_ms):
                raise TimeoutError(f"no prompt within {timeout_s:.3f} s")
            try:
                data = os.read(self._fd, _READ_BYTES)
            except OSError:  # the pipe was closed under the read: no more output
                data = b""
            if not data:
                raise OutputEnded(buffer.decode("utf-8", "replace"))
            buffer += data


def coq_limits(limit_mb: int | None):
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
        # Plain pipes (a pty would cut lines at 4096 bytes), read up to each prompt.
        self._process = subprocess.Popen(
            ["coqtop", *COQTOP_ARGS, *kernel.load_args],
            cwd=kernel.build_dir,
            env=coq_environment(kernel.build_dir),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            preexec_fn=coq_limits(memory_limit_mb),
        )
        self._reader = PromptReader(self._process.stdout)
        self.pid: int = self._process.pid
        self._closed = False
        self._started_as = (kernel.hash, str(kernel.build_dir), COQTOP_ARGS)
        self._state = self._wait(START_TIMEOUT_S)[1]
        output, self._state, opened = self._run(IMPORT_SENTENCE + ".", START_TIMEOUT_S)
        if "Error" in output or opened:
            self.close()
            raise SessionError(f"the kernel did not load: {output.strip()}")
        self.numeral_constants = False
        self._audit()
        self._kept = 0  # theorems defined since the session was last in its kernel-loaded state

    def _audit(self) -> None:
        """Find out whether the kernel has the numeral constants (each its numeral, resting
        on nothing), then make sure Coq reads a claim, sent as certificates' claims are
        sent, as written; return to the kernel-loaded state."""
        self._send(f"{NUMERALS_AUDIT} Print Assumptions pxl_numerals.\nBackTo {self._state}.\n")
        defined, _, _ = self._wait(START_TIMEOUT_S)
        rests_on, _, _ = self._wait(START_TIMEOUT_S)
        self._back(START_TIMEOUT_S)
        self.numeral_constants = (
            " ".join(defined.split()) == "<infomsg>pxl_numerals is defined</infomsg>"
            and rests_on.strip() == "Closed under the global context"
        )
        claim = self.as_sent(AUDIT_CLAIM)
        self._send(f"Check ({claim}).\nBackTo {self._state}.\n")
        shown, _, _ = self._wait(START_TIMEOUT_S)
        self._back(START_TIMEOUT_S)
        if not reads_as_written(shown, claim):
            self.close()
            raise SessionError(f"Coq does not read claims as written: {shown.strip()[:500]}")

    def as_sent(self, sentence: str) -> str:
        """The sentence as this session sends it: numerals below `NUMERAL_CONSTANTS` as
        the kernel's constants when it has them (`numeral_constants`), else as they are."""
        if not self.numeral_constants:
            return sentence
        return _NUMERAL.sub(lambda match: _CONSTANT_OF.get(match.group(), match.group()), sentence)

    def _back(self, timeout_s: float) -> None:
        """Read the answer to `BackTo`: the session must be in its kernel-loaded state."""
        _, state, opened = self._wait(timeout_s)
        if state != self._state or opened:
            self._abandon()
            raise SessionError("Coq did not return to the kernel-loaded state")

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

    def _wait(self, timeout_s: float) -> tuple[str, int, str]:
        """Coq's output up to the next prompt, the state number and the proofs left open."""
        try:
            return self._reader.until_prompt(timeout_s)
        except TimeoutError as exc:
            self._abandon()
            raise SessionTimeout(f"Coq did not answer within {timeout_s:.1f} s") from exc
        except OutputEnded as exc:
            # Its output ended, so the process is exiting: let it, so that its exit status
            # says why (a kill of ours would hide that), and only then make sure.
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._process.wait(timeout=EXIT_WAIT_S)
            self._abandon()
            if _died_of_memory(exc.output, self._process.returncode):
                raise SessionOutOfMemory("Coq ran out of memory and exited") from exc
            if self._process.returncode == -signal.SIGKILL:
                raise SessionKilled("the Coq process was killed (SIGKILL)") from exc
            raise SessionDied("the Coq process exited") from exc

    def _send(self, text: str) -> None:
        """Write to coqtop. Large inputs go from a helper thread, so that Coq answering
        (say, an error that repeats a huge term) can never block on a full pipe while
        this thread blocks writing. (A process that died since is found by the write or
        the read that follows, without a `waitpid` per sentence.)"""
        if self._closed:
            raise SessionDied("the Coq session is closed")
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

    def _run(self, sentence: str, timeout_s: float) -> tuple[str, int, str]:
        self._send(sentence + "\n")
        return self._wait(timeout_s)

    def _abandon(self) -> None:
        self._closed = True
        if self._process.poll() is None:
            self._process.kill()
        with contextlib.suppress(Exception):  # nothing more can be done for a stuck process
            self._process.wait(timeout=5)

    def _keeps(self, sent_chars: int) -> bool:
        """Whether the theorem about to be checked may stay defined after its check: a small
        one, while fewer than `KEEP_THEOREMS` are kept. (Returning to the kernel-loaded
        state after every check costs a sixth of a small check's Coq time; a kept theorem
        costs memory, and a large one is not kept.)"""
        if sent_chars <= KEEP_CHARS and self._kept < KEEP_THEOREMS:
            self._kept += 1
            return True
        self._kept = 0
        return False

    def check(self, source: str, theorem: str, timeout_s: float = 30.0) -> CheckResult:
        """Have Coq check a certificate; accepted only if Coq positively accepted the theorem
        as stated (`judge`) and it rests on no axiom beyond the kernel's declared ones."""
        started = time.monotonic()
        deadline = started + timeout_s
        try:
            shape = read(source, theorem)
        except CertificateFormatError as exc:
            return CheckResult(False, (), str(exc), 0.0)
        self.uses += 1
        known = _ASSUMPTIONS.get((*self._started_as, shape.lemma))
        name = f"{theorem}_{self.uses}"  # fresh: earlier theorems may still be defined
        definition = self.as_sent(f"Definition {name} : {shape.claim} := {shape.proof}.")
        sentences = [definition]
        if known is None:
            sentences.append(f"Print Assumptions {name}.")
        # One write, the sentences on one line: coqtop answers every sentence with a prompt,
        # even after an error. `BackTo` on the next line when it is time to return to the
        # kernel-loaded state (`_keeps`); an answer that is not an acceptance returns there
        # right after.
        back = not self._keeps(len(definition))
        self._send(" ".join(sentences) + (f"\nBackTo {self._state}.\n" if back else "\n"))
        answers = []
        for sentence in sentences:
            wait = deadline - time.monotonic()
            if sentence.startswith("Print Assumptions"):
                wait = max(wait, ASSUMPTIONS_TIMEOUT_S)
            try:
                answers.append(self._wait(wait))
            except SessionTimeout as exc:  # say the check's time, not what was left of it
                raise SessionTimeout(
                    f"Coq did not finish the check within {timeout_s:.1f} s"
                ) from exc
        if back:
            self._back(max(deadline - time.monotonic(), 1.0))
        transcript = Transcript(
            definition=answers[0][0],
            left_open="".join(answer[2] for answer in answers),
            assumptions=answers[1][0] if known is None else None,
        )
        result = self._result(judge(name, transcript), shape.lemma, known, started)
        # Nothing but accepted theorems is kept (a session that ran out of memory is replaced).
        if not result.accepted and not back and not result.out_of_memory:
            self._kept = 0
            self._send(f"BackTo {self._state}.\n")
            self._back(max(deadline - time.monotonic(), 1.0))
        return result

    def _result(
        self,
        verdict: tuple[str, ...] | Rejected,
        lemma: str,
        known: tuple[str, ...] | None,
        started: float,
    ) -> CheckResult:
        """The check's result from Coq's answer, and from what the theorem rests on: the
        axioms `Print Assumptions` listed (`known` for the lemma, or `verdict`)."""
        if isinstance(verdict, Rejected):
            out_of_memory = _OUT_OF_MEMORY in verdict.reason
            return CheckResult(False, (), verdict.reason, _ms_since(started), out_of_memory)
        if known is None:
            known = _ASSUMPTIONS[(*self._started_as, lemma)] = verdict
        undeclared = undeclared_axioms(known)
        if undeclared:
            message = f"proof depends on undeclared axioms: {', '.join(undeclared)}"
            return CheckResult(False, known, message, _ms_since(started))
        return CheckResult(True, known, "accepted", _ms_since(started))


_NUMERAL = re.compile(r"\b\d+\b")
# Coq's error when an allocation fails under the session's RLIMIT_AS but Coq survives.
_OUT_OF_MEMORY = "Error: Out of memory"


def _ms_since(started: float) -> float:
    return (time.monotonic() - started) * 1000


def _died_of_memory(last_output: object, returncode: int | None) -> bool:
    """The OCaml runtime's last words when an allocation fails past RLIMIT_AS are
    `Fatal error: out of memory`, followed by abort()."""
    said = isinstance(last_output, str) and "Fatal error: out of memory" in last_output
    return said or returncode == -signal.SIGABRT
