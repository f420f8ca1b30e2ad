"""The LWB bench's peers (bench/peers.py) answer textbook facts right through the ALC
translation, so that their scores next to PXL's measure them, not a translation bug."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

_SPEC = importlib.util.spec_from_file_location(
    "bench_peers", Path(__file__).resolve().parents[1] / "bench" / "peers.py"
)
assert _SPEC is not None and _SPEC.loader is not None
peers = sys.modules[_SPEC.name] = importlib.util.module_from_spec(_SPEC)  # dataclasses look it up
_SPEC.loader.exec_module(peers)

INSTALLED = dict(peers.available())
ALL = {"k": "K", "kt": "KT", "s4": "S4"}
# goal -> the logics (bench folder names) it is valid in
FACTS = [
    ("box(p -> q) -> (box p -> box q)", {"k", "kt", "s4"}),
    ("box p -> p", {"kt", "s4"}),
    ("box p -> box box p", {"s4"}),
    ("p -> dia p", {"kt", "s4"}),
    ("dia true -> dia dia true", {"kt", "s4"}),
    # nested equivalences: their shared sides become named, defined classes
    ("((p <-> q) <-> r) <-> (p <-> (q <-> r))", {"k", "kt", "s4"}),
    ("dia (p <-> q) -> box (p v ~q)", set()),
    ("true", {"k", "kt", "s4"}),
    ("false", set()),
]


def test_the_translation_writes_each_shared_node_once() -> None:
    text = peers.fact_lisp("((p <-> q) <-> r) <-> (p <-> (q <-> r))", "s4")
    assert "(reflexive r)" in text and "(transitive r)" in text
    assert text.count("(equal_c ") == text.count("(equal_c d") + 1
    assert "<ReflexiveObjectProperty>" in peers.owl_xml("p", "kt")
    assert "TransitiveObjectProperty" not in peers.owl_xml("p", "kt")


@pytest.mark.parametrize("name", sorted(peers.PEERS))
@pytest.mark.parametrize(("goal", "valid_in"), FACTS)
def test_peers_answer_textbook_facts(name: str, goal: str, valid_in: set[str]) -> None:
    if name not in INSTALLED:
        pytest.skip(f"{name} is not installed")
    for logic in ALL:
        answer = INSTALLED[name](goal, logic, 20.0)
        expected = "proved" if logic in valid_in else "refuted"
        assert answer.verdict == expected, (logic, answer)
