"""Reading coqtop's answers off its pipe: whole prompts only, however the bytes arrive."""

from __future__ import annotations

import contextlib
import os
import threading
import time

import pytest

from pxl_prover.sessions import _PromptReader

PROMPT = b"<prompt>Coq < 7 || 0 < </prompt>"


@pytest.fixture
def pipe():
    read_end, write_end = os.pipe()
    yield _PromptReader(read_end), write_end
    os.close(read_end)
    with contextlib.suppress(OSError):  # a test may have closed it
        os.close(write_end)


def test_a_prompt_split_across_reads_is_read_whole(pipe) -> None:
    reader, write_end = pipe
    answer = b"<infomsg>pxl_goal is defined</infomsg>\n" + PROMPT + b"pxl_goal\n     : T\n"

    def dribble() -> None:
        for i in range(len(answer)):
            os.write(write_end, answer[i : i + 1])
            time.sleep(0.0005)
        os.write(write_end, b"<prompt>Coq < 8 |pxl_goal| 0 < </prompt>")

    writer = threading.Thread(target=dribble)
    writer.start()
    deadline = time.monotonic() + 10
    assert reader.next_prompt(deadline) == ("<infomsg>pxl_goal is defined</infomsg>\n", 7, "")
    assert reader.next_prompt(deadline) == ("pxl_goal\n     : T\n", 8, "pxl_goal")
    writer.join()


def test_an_end_marker_outside_a_prompt_is_output(pipe) -> None:
    reader, write_end = pipe
    os.write(write_end, b"Error: </prompt> is not a term\n" + PROMPT)
    assert reader.next_prompt(time.monotonic() + 5) == ("Error: </prompt> is not a term\n", 7, "")


def test_no_prompt_by_the_deadline_is_a_timeout(pipe) -> None:
    reader, write_end = pipe
    os.write(write_end, b"still thinking")
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        reader.next_prompt(started + 0.2)
    assert 0.15 < time.monotonic() - started < 5


def test_the_pipe_closing_before_a_prompt_carries_the_last_output(pipe) -> None:
    reader, write_end = pipe
    os.write(write_end, b"Fatal error: out of memory")
    os.close(write_end)
    with pytest.raises(EOFError) as raised:
        reader.next_prompt(time.monotonic() + 5)
    assert raised.value.args[0] == "Fatal error: out of memory"
