"""Admission at capacity: as many requests as it runs and queues are all served, none refused."""

from __future__ import annotations

import threading
import time

import pytest

from pxl_prover.admission import Admission
from pxl_prover.pool import PoolSaturated


def test_a_request_arriving_as_a_slot_frees_queues_behind_the_waiters() -> None:
    admission = Admission(running=1, queue=1, wait_s=5.0)
    order: list[str] = []
    first = admission.slot()
    first.__enter__()

    def waiter() -> None:
        with admission.slot():
            order.append("waiter")

    queued = threading.Thread(target=waiter)
    queued.start()
    while admission.stats()["waiting"] != 1:
        time.sleep(0.001)
    first.__exit__(None, None, None)
    # The same client comes straight back, before the waiter has woken: the queue is
    # moving, so this is a wait, not a refusal, and the waiter goes first.
    with admission.slot():
        order.append("newcomer")
    queued.join()
    assert order == ["waiter", "newcomer"]
    assert admission.stats() == {"running": 0, "waiting": 0}


def test_beyond_running_and_queue_a_request_is_refused_at_once() -> None:
    admission = Admission(running=1, queue=1, wait_s=5.0)
    holder = admission.slot()
    holder.__enter__()
    queued = threading.Thread(target=lambda: admission.slot().__enter__())
    queued.start()
    while admission.stats()["waiting"] != 1:
        time.sleep(0.001)
    started = time.monotonic()
    with pytest.raises(PoolSaturated), admission.slot():
        pass
    assert time.monotonic() - started < 1
    holder.__exit__(None, None, None)
    queued.join()


def test_a_waiter_that_gives_up_leaves_no_slot_behind() -> None:
    admission = Admission(running=1, queue=2, wait_s=0.05)
    with admission.slot(), pytest.raises(PoolSaturated), admission.slot():
        pass
    assert admission.stats() == {"running": 0, "waiting": 0}
    with admission.slot():
        assert admission.stats() == {"running": 1, "waiting": 0}


def test_eight_clients_against_three_running_and_five_queued_are_never_refused() -> None:
    admission = Admission(running=3, queue=5, wait_s=5.0)
    refused: list[Exception] = []

    def client() -> None:
        for _ in range(200):
            try:
                with admission.slot():
                    time.sleep(0.0002)
            except PoolSaturated as exc:
                refused.append(exc)

    clients = [threading.Thread(target=client) for _ in range(8)]
    for thread in clients:
        thread.start()
    for thread in clients:
        thread.join()
    assert refused == []
    assert admission.stats() == {"running": 0, "waiting": 0}
