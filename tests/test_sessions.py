"""Reading Coq's answers: up to each prompt, across partial reads, within the time allowed,
and telling a process that died (of memory or otherwise) from one that hangs.

The reader is driven over a plain pipe, and the session's handling of a dead or silent
process over real child processes that behave like a dying or hanging coqtop.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import threading
import time
from collections.abc import Iterator

import pytest

from pxl_prover import certificate
from pxl_prover.check.gate import THEOREM
from pxl_prover.logics import get_logic
from pxl_prover.sessions import (
    CoqSession,
    OutputEnded,
    PromptReader,
    SessionDied,
    SessionKilled,
    SessionOutOfMemory,
    SessionTimeout,
)
from pxl_prover.syntax import parse
from pxl_prover.tableau import search

pytestmark = pytest.mark.timeout(60)


def prompt(state: int, opened: str = "") -> bytes:
    return f"<prompt>Coq < {state} |{opened}| 0 < </prompt>".encode()


@pytest.fixture
def pipe() -> Iterator[tuple[PromptReader, int]]:
    """A reader on a pipe, and the pipe's write end."""
    read_end, write_end = os.pipe()
    with os.fdopen(read_end, "rb", buffering=0) as reading:
        try:
            yield PromptReader(reading), write_end
        finally:
            with contextlib.suppress(OSError):
                os.close(write_end)


def test_an_answer_is_the_text_before_the_prompt_with_its_state(pipe) -> None:
    reader, writer = pipe
    os.write(writer, b"<infomsg>pxl_goal_1 is defined</infomsg>\n" + prompt(12))
    assert reader.until_prompt(5) == ("<infomsg>pxl_goal_1 is defined</infomsg>\n", 12, "")


def test_output_after_a_prompt_is_kept_for_the_next_answer(pipe) -> None:
    reader, writer = pipe
    os.write(writer, b"first" + prompt(3) + b"second" + prompt(4, "pxl_goal") + b"thi")
    assert reader.until_prompt(5) == ("first", 3, "")
    assert reader.until_prompt(5) == ("second", 4, "pxl_goal")
    os.write(writer, b"rd" + prompt(5))
    assert reader.until_prompt(5) == ("third", 5, "")


def test_a_prompt_split_over_many_reads_is_found(pipe) -> None:
    reader, writer = pipe
    data = "Error: ünïcode ✓ and more\n".encode() + prompt(1234, "a b")

    def trickle() -> None:
        for i in range(len(data)):
            os.write(writer, data[i : i + 1])
            time.sleep(0.001)

    thread = threading.Thread(target=trickle)
    thread.start()
    try:
        assert reader.until_prompt(20) == ("Error: ünïcode ✓ and more\n", 1234, "a b")
    finally:
        thread.join()


def test_a_long_answer_arrives_whole_over_many_reads(pipe) -> None:
    reader, writer = pipe
    term = b"(TAnd 0 " * 500_000  # 4 MB: an error that shows a large term back

    def send() -> None:
        for start in range(0, len(term), 100_000):
            os.write(writer, term[start : start + 100_000])
        os.write(writer, prompt(9))

    thread = threading.Thread(target=send)
    thread.start()
    try:
        before, state, _ = reader.until_prompt(30)
    finally:
        thread.join()
    assert (len(before), state) == (len(term), 9)
    assert before.encode() == term


def test_text_that_looks_like_the_start_of_a_prompt_is_not_one(pipe) -> None:
    reader, writer = pipe
    os.write(writer, b"<prompt>not a prompt</prompt> <prompt" + b"x" * 100)
    with pytest.raises(TimeoutError):
        reader.until_prompt(0.05)
    os.write(writer, prompt(7))
    assert reader.until_prompt(5) == (
        "<prompt>not a prompt</prompt> <prompt" + "x" * 100,
        7,
        "",
    )


def test_undecodable_bytes_are_replaced_not_fatal(pipe) -> None:
    reader, writer = pipe
    os.write(writer, b"bad \xff\xfe byte" + prompt(2))
    assert reader.until_prompt(5) == ("bad \ufffd\ufffd byte", 2, "")


def test_no_prompt_in_time_is_a_timeout_whatever_came_before(pipe) -> None:
    reader, writer = pipe
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        reader.until_prompt(0.2)
    assert 0.15 < time.monotonic() - started < 5
    os.write(writer, b"half an answer <prompt>Coq < 3 |")
    with pytest.raises(TimeoutError):
        reader.until_prompt(0.05)
    os.write(writer, b"| 0 < </prompt>")
    assert reader.until_prompt(5) == ("half an answer ", 3, "")


def test_the_end_of_the_output_carries_what_came_after_the_last_prompt(pipe) -> None:
    reader, writer = pipe
    os.write(writer, b"answer" + prompt(1) + b"Fatal error: out of memory\n")
    assert reader.until_prompt(5) == ("answer", 1, "")
    os.close(writer)
    with pytest.raises(OutputEnded) as ended:
        reader.until_prompt(5)
    assert ended.value.output == "Fatal error: out of memory\n"


# --- the session over processes that behave like a failing coqtop -------------------------


def session_over(script: str) -> CoqSession:
    """A CoqSession reading a shell script's output instead of coqtop's."""
    process = subprocess.Popen(["sh", "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    session = object.__new__(CoqSession)
    session._process = process
    session._reader = PromptReader(process.stdout)
    session._closed = False
    session.pid = process.pid
    return session


def test_a_process_that_exits_before_its_prompt_is_a_dead_session() -> None:
    session = session_over("printf 'Anomaly: half an answer'; exit 3")
    with pytest.raises(SessionDied) as died:
        session._wait(10)
    assert not isinstance(died.value, SessionOutOfMemory)
    assert not session.alive()


@pytest.mark.parametrize(
    ("script", "death"),
    [
        # Coq's own last words when an allocation fails past its RLIMIT_AS
        ("printf 'Fatal error: out of memory\\n'; exit 2", SessionOutOfMemory),
        # the OCaml runtime aborting without a word
        ("kill -ABRT $$", SessionOutOfMemory),
        # what the kernel's OOM killer does to the biggest process of a full memory cgroup
        # (a pod at its memory limit): SIGKILL, without a word
        ("printf 'working'; kill -KILL $$", SessionKilled),
    ],
)
def test_how_a_session_died_is_told_apart(script: str, death: type[SessionDied]) -> None:
    session = session_over(script)
    with pytest.raises(death):
        session._wait(10)


def test_a_process_that_exits_is_not_killed_to_find_out_why() -> None:
    # Its output ends a moment before it is reaped: the session waits for its exit status.
    session = session_over("exec 1>&-; sleep 0.2; exit 3")
    with pytest.raises(SessionDied) as died:
        session._wait(10)
    assert not isinstance(died.value, SessionOutOfMemory)
    assert session._process.returncode == 3


def test_a_process_that_does_not_answer_in_time_is_killed() -> None:
    session = session_over("printf 'working'; exec sleep 60")
    started = time.monotonic()
    with pytest.raises(SessionTimeout):
        session._wait(0.3)
    assert time.monotonic() - started < 10
    assert session._process.returncode is not None  # killed and reaped
    assert not session.alive()


def test_a_check_that_times_out_names_the_checks_time_not_what_was_left() -> None:
    """The last wait of a check has only what is left of its time; the error a user reads
    names the time the check had."""
    goal = parse("BOX(A -> A)")
    logic = get_logic("K")
    source = certificate.render(goal, logic, search(goal, logic).tree)
    session = session_over("exec sleep 60")
    session.uses, session._kept, session._state = 0, 0, 2
    session.numeral_constants = False
    session._started_as = ("kernel", "folder", ())
    with pytest.raises(SessionTimeout, match=r"did not finish the check within 0\.3 s"):
        session.check(source, THEOREM, timeout_s=0.3)
    assert not session.alive()


# Coq gives itself a 256 MB minor heap unless told otherwise: a fresh session then holds
# about 400 MB, and the default five fill a prover pod's default 2 GiB limit. Told
# (`kernel.COQ_GC`), a fresh session holds about 160 MB.
FRESH_SESSION_MAX_MB = 300


def test_a_session_leaves_room_for_five_in_a_pods_default_memory_limit(compiled_kernel) -> None:
    session = CoqSession(compiled_kernel)
    try:
        with open(f"/proc/{session.pid}/status") as status:
            (line,) = (line for line in status if line.startswith("VmRSS:"))
        resident_mb = int(line.split()[1]) / 1024
    finally:
        session.close()
    assert resident_mb < FRESH_SESSION_MAX_MB, f"a fresh Coq session holds {resident_mb:.0f} MB"
