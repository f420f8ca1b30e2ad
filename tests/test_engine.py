"""The whole pipeline on real Coq: textbook facts per logic, LWB formulas 1–3 of every file,
and answers shaped as docs/http-api.md says. Every `proved` here was accepted by Coq."""

from __future__ import annotations

from pathlib import Path

import pytest

from pxl_prover.check.evaluator import confirm
from pxl_prover.countermodel import Countermodel
from pxl_prover.logics import UnknownLogic, get_logic
from pxl_prover.syntax import ParseError, parse

LWB = Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "lwb"

TEXTBOOK = [
    ("BOX(A -> A)", "K", "proved"),
    ("BOX A -> A", "K", "refuted"),
    ("BOX A -> A", "T", "proved"),
    ("BOX A -> BOX BOX A", "T", "refuted"),
    ("BOX A -> BOX BOX A", "S4", "proved"),
    ("DIA A -> BOX DIA A", "S4", "refuted"),
    ("DIA A -> BOX DIA A", "S5", "proved"),
    ("DIA A -> BOX DIA A", "KD45", "proved"),
    ("BOX A -> DIA A", "D", "proved"),
    ("BOX A -> DIA A", "K", "refuted"),
    ("A -> BOX DIA A", "B", "proved"),
    ("A -> BOX DIA A", "S4", "refuted"),
    ("BOX A -> A", "KD45", "refuted"),
    ("BOX(A /\\ BOX(B) -> BOX(A /\\ B))", "S5", "refuted"),
    ("BOX(A -> B) -> (BOX A -> BOX B)", "K", "proved"),
    ("BOX(Good(action) and TrueP(props)) -> BOX(Good(action))", "K", "proved"),
    ("BOX(DIAMOND(Goal(plan_4014)))", "S5", "refuted"),
    ("A -> BOX(A)", "S5", "refuted"),
]


@pytest.mark.parametrize(("goal", "logic", "expected"), TEXTBOOK)
def test_textbook_facts(prover, goal: str, logic: str, expected: str) -> None:
    answer = prover.prove(goal, logic)
    assert answer["verdict"] == expected
    assert answer["verified"] is True
    assert answer["ok"] is (expected == "proved")
    assert answer["logic"] == get_logic(logic).name
    assert answer["kernel_hash"] == prover.kernel_hash
    if expected == "proved":
        assert f"valid_{get_logic(logic).name} " in answer["certificate"]
        assert answer["assumptions"] == ["Classical_Prop.classic"]
    else:
        model = Countermodel.from_json(answer["countermodel"])
        assert confirm(model, parse(goal), get_logic(logic))


def test_default_logic_is_s5(prover) -> None:
    assert prover.prove("DIA A -> BOX DIA A")["logic"] == "S5"


def test_bad_input_raises_the_documented_errors(prover) -> None:
    with pytest.raises(ParseError):
        prover.prove("BOX(A ->")
    with pytest.raises(UnknownLogic):
        prover.prove("A", "S7")
    with pytest.raises(ValueError, match="timeout_ms"):
        prover.prove("A", "K", timeout_ms=0)


def test_a_tiny_time_budget_gives_unknown_naming_the_limit(prover) -> None:
    hard = lwb_formulas("k", "k_ph_p")[20]
    answer = prover.prove(hard, "K", timeout_ms=1)
    assert answer["verdict"] == "unknown"
    assert answer["verified"] is False and answer["ok"] is False
    assert answer["limits"]["reason"] == "time"


def test_the_canary_passes_on_the_repository_kernel(prover) -> None:
    assert prover.canary() == []


def lwb_formulas(folder: str, name: str) -> list[str]:
    lines = (LWB / folder / f"{name}.txt").read_text().splitlines()
    return [line.split(":", 1)[1].strip() for line in lines if line.split(":", 1)[0].isdigit()]


LWB_CASES = sorted(
    (path.parent.name, path.stem, n)
    for path in LWB.glob("*/*.txt")
    if path.name != "README.md"
    for n in (1, 2, 3)
)
LOGIC_OF = {"k": "K", "kt": "T", "s4": "S4"}


@pytest.mark.skipif(not LWB.is_dir(), reason="shared/benchmarks/lwb is not beside the repository")
@pytest.mark.parametrize(("folder", "name", "n"), LWB_CASES)
def test_lwb_first_formulas(prover, folder: str, name: str, n: int) -> None:
    goal = lwb_formulas(folder, name)[n - 1]
    answer = prover.prove(goal, LOGIC_OF[folder], timeout_ms=120_000)
    expected = "proved" if name.endswith("_p") else "refuted"
    assert answer["verdict"] == expected, answer.get("limits")
    assert answer["verified"] is True


@pytest.mark.skipif(not LWB.is_dir(), reason="shared/benchmarks/lwb is not beside the repository")
def test_a_certificate_nested_thousands_deep_is_checked_by_coq(prover) -> None:
    """coqtop (unlike coqc) overflows the default 8 MiB stack on this one (kt_poly_p #21):
    sessions must run with a larger stack."""
    answer = prover.prove(lwb_formulas("kt", "kt_poly_p")[20], "T", timeout_ms=120_000)
    assert answer["verdict"] == "proved" and answer["verified"], answer.get("limits")


# --- the search is untrusted: whatever it claims, only checked verdicts come out ---------


def test_a_wrong_proof_from_the_search_is_not_reported(prover, monkeypatch) -> None:
    from pxl_prover import prooftree, tableau

    bogus = tableau.Proof(prooftree.AndRule(0, prooftree.Close(1, 2)))
    monkeypatch.setattr(tableau, "search", lambda *args, **kwargs: bogus)
    answer = prover.prove("BOX A -> A", "K")  # not valid in K, whatever the search says
    assert answer["verdict"] == "unknown" and not answer["verified"] and not answer["ok"]
    assert answer["limits"]["reason"] == "check_failed"


def test_a_wrong_countermodel_from_the_search_is_not_reported(prover, monkeypatch) -> None:
    from pxl_prover import tableau

    model = Countermodel(("w0",), (("w0", "w0"),), {"w0": ("A",)}, "w0")
    monkeypatch.setattr(tableau, "search", lambda *args, **kwargs: tableau.Refutation(model))
    answer = prover.prove("BOX A -> A", "T")  # valid in T: no countermodel exists
    assert answer["verdict"] == "unknown" and not answer["verified"]
    assert answer["limits"]["reason"] == "check_failed"


def test_a_contraction_that_lost_the_countermodel_falls_back_to_the_uncontracted_one(
    prover, monkeypatch
) -> None:
    from pxl_prover import tableau

    wrong = Countermodel(("w0",), (("w0", "w0"),), {"w0": ("A",)}, "w0")
    right = Countermodel(("w0", "w1"), (("w0", "w1"),), {"w1": ("A",)}, "w0")
    found = tableau.Refutation(wrong, right)
    monkeypatch.setattr(tableau, "search", lambda *args, **kwargs: found)
    answer = prover.prove("BOX A -> A", "K")
    assert answer["verdict"] == "refuted" and answer["verified"]
    assert answer["countermodel"] == right.to_json()


def test_a_search_ended_past_its_deadline_gives_unknown_for_time(prover, monkeypatch) -> None:
    from pxl_prover import tableau

    def stuck(*args, **kwargs):
        raise tableau.SearchOverran("the search did not stop within 2 s of its deadline")

    monkeypatch.setattr(tableau, "search", stuck)
    answer = prover.prove("BOX A -> A", "K")
    assert answer["verdict"] == "unknown" and answer["limits"]["reason"] == "time"
    assert "deadline" in answer["limits"]["detail"]


def test_a_countermodel_coq_cannot_check_in_time_stands_on_the_evaluator(
    prover, monkeypatch
) -> None:
    from pxl_prover.sessions import SessionTimeout

    def too_slow(*args, **kwargs):
        raise SessionTimeout("Coq did not answer within 0.5 s")

    monkeypatch.setattr(prover.checker, "check", too_slow)
    answer = prover.prove("DIA A -> BOX A", "S4")
    assert answer["verdict"] == "refuted" and answer["verified"]
    assert "certificate" not in answer
    assert answer["proof_method"] == "Kripke countermodel checked by an independent evaluator"
    proof = prover.prove("BOX A -> BOX BOX A", "S4")  # a proof has no such fallback
    assert proof["verdict"] == "unknown" and proof["limits"]["reason"] == "time"


def test_coq_rejecting_a_confirmed_countermodel_gives_no_verdict(prover, monkeypatch) -> None:
    from pxl_prover.sessions import CheckResult

    monkeypatch.setattr(
        prover.checker, "check", lambda *args, **kwargs: CheckResult(False, (), "Error: no", 1.0)
    )
    answer = prover.prove("DIA A -> BOX A", "S4")
    assert answer["verdict"] == "unknown" and answer["limits"]["reason"] == "check_failed"


def test_an_answer_cannot_be_changed_once_the_engine_made_it(prover) -> None:
    from dataclasses import FrozenInstanceError

    answer = prover.answer("BOX(A -> A)", "K")
    assert answer.verified and answer.to_json()["verified"] is True
    with pytest.raises(FrozenInstanceError):
        answer.verdict = "refuted"  # type: ignore[misc]
    with pytest.raises(TypeError):
        answer.timings_ms["search"] = 0.0  # type: ignore[index]


class _RefusingChecker:
    """A kernel that accepts nothing (as a broken kernel would), safe to share across threads."""

    kernel_hash = "0" * 64

    def check(self, source: str, theorem: str, timeout_s: float = 30.0):
        from pxl_prover.sessions import CheckResult

        return CheckResult(False, (), "rejected by a broken kernel", 0.1)


@pytest.mark.parametrize("parallel", [1, 4])
def test_the_canary_reports_every_goal_a_broken_kernel_fails(parallel: int) -> None:
    from pxl_prover.engine import CANARY, Prover

    problems = Prover(_RefusingChecker()).canary(parallel=parallel)
    proved = [case for case in CANARY if case[2] == "proved"]
    assert len(problems) >= len(proved)
    for goal, logic, _expected in proved:
        assert any(p.startswith(f"{goal} in {logic}: expected proved") for p in problems)


class _SlowChecker:
    """A kernel that never finishes in time: it records the time it was given and times out."""

    kernel_hash = "0" * 64

    def __init__(self) -> None:
        self.given: list[float] = []

    def check(self, source: str, theorem: str, timeout_s: float = 30.0):
        from pxl_prover.sessions import SessionTimeout

        self.given.append(timeout_s)
        raise SessionTimeout(f"Coq did not answer within {timeout_s:.1f} s")


def test_coq_gets_half_the_time_left_to_confirm_a_countermodel_the_evaluator_confirmed() -> None:
    from pxl_prover.engine import Prover

    checker = _SlowChecker()
    answer = Prover(checker).answer("BOX A -> A", "K", timeout_ms=8_000)
    assert answer.verdict == "refuted" and answer.verified
    assert answer.proof_method == "Kripke countermodel checked by an independent evaluator"
    assert confirm(answer.countermodel, parse("BOX A -> A"), get_logic("K"))
    assert len(checker.given) == 1 and 3.0 < checker.given[0] <= 4.0
    # a proof has no second opinion to fall back on: Coq gets all the time left
    assert Prover(checker).answer("BOX(A -> A)", "K", timeout_ms=8_000).verdict == "unknown"
    assert 7.0 < checker.given[1] <= 8.0


class _AcceptingChecker:
    """A kernel that accepts at once and records the time it was given: whether Coq was
    asked at all."""

    kernel_hash = "0" * 64

    def __init__(self) -> None:
        self.given: list[float] = []

    def check(self, source: str, theorem: str, timeout_s: float = 30.0):
        from pxl_prover.sessions import CheckResult

        self.given.append(timeout_s)
        return CheckResult(True, (), "", 0.1)


def test_a_proof_back_after_the_deadline_is_unknown_for_time_without_coq(
    monkeypatch, clock_jump
) -> None:
    """Sending a big proof back takes seconds; once the deadline has passed there is no time
    left to check it, and the user waits for no check that cannot be done in time."""
    from pxl_prover import tableau
    from pxl_prover.engine import Prover

    found = tableau.search(parse("BOX A -> A"), get_logic("T"))
    assert isinstance(found, tableau.Proof)

    def back_after_the_deadline(*args, **kwargs):
        clock_jump[0] = 3600.0
        return found

    monkeypatch.setattr(tableau, "search", back_after_the_deadline)
    checker = _AcceptingChecker()
    answer = Prover(checker).answer("BOX A -> A", "T", timeout_ms=10_000)
    assert answer.verdict == "unknown" and not answer.verified
    assert answer.limits["reason"] == "time" and "deadline" in answer.limits["detail"]
    assert checker.given == []
    monkeypatch.setattr(tableau, "search", lambda *args, **kwargs: found)
    clock_jump[0] = 0.0  # the same proof in time goes to Coq, which has the last word
    assert Prover(checker).answer("BOX A -> A", "T", timeout_ms=10_000).verdict == "proved"
    assert len(checker.given) == 1


def test_a_certificate_not_written_by_the_deadline_is_unknown_for_time_without_coq(
    monkeypatch, clock_jump
) -> None:
    """Finding a big proof's shared sub-proofs takes seconds (LWB kt_ph_p #7 in T: longer
    than the search); it stops at the deadline, and the answer is `unknown` for time."""
    from pxl_prover import certificate, sharing, tableau
    from pxl_prover.engine import Prover

    monkeypatch.setattr(sharing, "MIN_TREE_RULES", 1)  # share even this small proof
    found = tableau.search(parse("BOX A -> A"), get_logic("T"))
    monkeypatch.setattr(tableau, "search", lambda *args, **kwargs: found)
    shares = certificate.share

    def share_as_the_deadline_passes(*args, **kwargs):
        clock_jump[0] = 3600.0
        return shares(*args, **kwargs)

    monkeypatch.setattr(certificate, "share", share_as_the_deadline_passes)
    checker = _AcceptingChecker()
    answer = Prover(checker).answer("BOX A -> A", "T", timeout_ms=10_000)
    assert answer.verdict == "unknown" and answer.limits["reason"] == "time"
    assert checker.given == []
