""" "Checked by Coq" fails closed: sessions load no user file, a certificate is accepted only
on Coq's positive answer for the theorem as stated, what it rests on is asked of the checked
theorem itself, and a compiled kernel is used only while it matches what was built."""

from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path

import pytest

from pxl_prover import certificate as c
from pxl_prover import prooftree as t
from pxl_prover import sessions
from pxl_prover.check.acceptance import (
    AUDIT_CLAIM,
    Rejected,
    Transcript,
    judge,
    reads_as_written,
    shows_claim,
)
from pxl_prover.kernel import BUILTIN_KERNEL_DIR, build_intact, build_kernel
from pxl_prover.logics import LOGICS, get_logic
from pxl_prover.sessions import CoqSession
from pxl_prover.syntax import parse

# A file that, if Coq loaded it, would make every VM-cast proof go through an axiom.
HOSTILE_RC = """Axiom pxl_cheat : forall P : Prop, P.
Ltac vm_cast_no_check t := exact (pxl_cheat _).
"""
# `Var 0` is not K-valid; this certificate must never be accepted.
FALSE_CERTIFICATE = """From PXL Require Import Tableau.
Theorem pxl_goal : valid_K (Var 0).
Proof (tableau_K _ (TBot 0)
  ltac:(vm_cast_no_check (eq_refl true))).
"""
TRUE_CERTIFICATE = c.render(
    parse("BOX A -> BOX BOX A"),
    get_logic("S4"),
    t.AndRule(0, t.DiaRule(2, t.DiaRule(3, t.Trans(0, 1, t.BoxRule(1, 2, t.Close(5, 4)))))),
)


def test_a_hostile_coqrc_in_home_is_not_loaded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, compiled_kernel
) -> None:
    home = tmp_path / "home"
    (home / ".config" / "coq").mkdir(parents=True)
    (home / ".coqrc").write_text(HOSTILE_RC)
    (home / ".config" / "coq" / "coqrc.8.16").write_text(HOSTILE_RC)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    session = CoqSession(compiled_kernel)
    try:
        assert not session.check(FALSE_CERTIFICATE, c.THEOREM, 60).accepted
        accepted = session.check(TRUE_CERTIFICATE, c.THEOREM, 60)
        assert accepted.accepted, accepted.message
        assert accepted.assumptions == ("Classical_Prop.classic",)
    finally:
        session.close()


def test_assumptions_are_those_of_the_checked_theorem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, compiled_kernel
) -> None:
    """Were a user file loaded anyway, the axiom it slips into the proof is found: the
    lemma `tableau_K` itself rests on `classic` alone, the checked theorem does not."""
    hostile = tmp_path / "hostile.v"
    hostile.write_text(HOSTILE_RC)
    monkeypatch.setattr(sessions, "COQTOP_ARGS", ("-emacs", "-quiet", "-init-file", str(hostile)))
    session = CoqSession(compiled_kernel)
    try:
        for source in (FALSE_CERTIFICATE, TRUE_CERTIFICATE, FALSE_CERTIFICATE):
            result = session.check(source, c.THEOREM, 60)
            assert not result.accepted
            assert "pxl_cheat" in result.message
    finally:
        session.close()


CLAIM = "valid_S5 (Box (Impl (Var 0) (Var 0)))"
DEFINED = "<infomsg>pxl_goal is defined</infomsg>\n\n"
CHECKED = "valid_S5\n  (Box (Impl (Var 0) (Var 0)))\n     : Prop\n\n"
AXIOMS = "Axioms:\nClassical_Prop.classic : forall P : Prop, P \\/ ~ P\n\n"


def transcript(**changes: str | None) -> Transcript:
    fields = {"definition": DEFINED, "left_open": "", "assumptions": AXIOMS}
    return Transcript(**{**fields, **changes})


def test_a_positive_answer_is_accepted_with_the_theorems_assumptions() -> None:
    assert judge("pxl_goal", transcript()) == ("Classical_Prop.classic",)
    closed = transcript(assumptions="Closed under the global context\n")
    assert judge("pxl_goal", closed) == ()
    fetching = "<infomsg>\nFetching opaque proofs from disk for PXL.Tableau\n</infomsg>\n"
    assert judge("pxl_goal", transcript(assumptions=fetching + AXIOMS)) == (
        "Classical_Prop.classic",
    )
    assert judge("pxl_goal", transcript(assumptions=None)) == ()


@pytest.mark.parametrize(
    "changes",
    [
        {"definition": ""},  # nothing said: no verdict
        {"definition": "Anomaly: Uncaught exception Not_found.\nPlease report.\n"},
        {"definition": "Warning: something odd [odd,default]\n"},  # warning-only
        {"definition": "<infomsg>pxl_goal is defined</infomsg>\nWarning: odd\n"},
        {"definition": "<infomsg>other is defined</infomsg>\n"},
        {"definition": "<infomsg>pxl_goal is def\x00ined</infomsg>"},  # garbled
        {"left_open": "pxl_goal"},  # a proof still open: nothing was defined
        {"definition": DEFINED + "<prompt>Coq < 3 || 0 < </prompt>" + DEFINED},  # two answers
        {"definition": DEFINED, "assumptions": "Error: pxl_goal not found.\n"},
        {"assumptions": ""},
        {"assumptions": "Axioms:\n"},
        {"assumptions": "Axioms:\n!!garbled!!\n"},
        {"assumptions": "Anomaly: stack overflow.\n"},
        {"assumptions": AXIOMS + "Assumptions of guardedness:\npxl_goal\n"},  # unsafe flags
    ],
)
def test_anything_but_a_positive_answer_is_rejected(changes: dict[str, str]) -> None:
    assert isinstance(judge("pxl_goal", transcript(**changes)), Rejected)


@pytest.mark.parametrize(
    "shown",
    [
        "valid_S5 (Box (Impl (Var 0) (Var 1)))\n     : Prop\n",  # another claim
        "valid_K (Box (Impl (Var 0) (Var 0)))\n     : Prop\n",  # another logic
        "valid_S5 (Box (Impl (Var 0) (Var 0))) /\\ True\n     : Prop\n",  # more
        "valid_S5\n     : Prop\n",  # cut short
        "valid_S5 (Box (Impl (Var 0) (Var 0)))\n     : Set\n",  # not a statement
        "Error: The reference valid_S5 was not found in the current environment.\n",
        "Warning: odd [odd,default]\nvalid_S5 (Box (Impl (Var 0) (Var 0)))\n     : Prop\n",
        "",
    ],
)
def test_a_session_trusts_coqs_reading_of_claims_only_when_shown_back_as_written(
    shown: str,
) -> None:
    assert reads_as_written(CHECKED, CLAIM)
    assert not reads_as_written(shown, CLAIM)


def test_a_claim_coq_shows_elided_matches_only_what_was_sent() -> None:
    claim = "valid_K (Conj (Box (Var 0)) (Dia (Neg (Var 1))))"
    assert shows_claim("valid_K (Conj (...) (Dia (...)))", claim)
    assert shows_claim("valid_K (...)", claim)
    assert shows_claim("valid_K FTop", "valid_K (FTop)")
    assert not shows_claim("valid_K (Conj (...) (Box (...)))", claim)
    assert not shows_claim("valid_K (Conj (...) (Dia (...)) (...))", claim)
    assert not shows_claim("valid_K (Conj (...))", claim)
    assert not shows_claim("valid_T (...)", claim)


def test_a_wrong_claim_or_a_proof_of_another_claim_is_not_accepted(coq_session) -> None:
    assert coq_session.check(TRUE_CERTIFICATE, c.THEOREM, 60).accepted
    another_claim = TRUE_CERTIFICATE.replace("(Box (Box (Var 0)))", "(Box (Box (Var 1)))")
    weaker_logic = TRUE_CERTIFICATE.replace("_S4", "_K")
    wrong_proof = TRUE_CERTIFICATE.replace("TClose 0 1", "TClose 1 0")
    for source in (another_claim, weaker_logic, wrong_proof, FALSE_CERTIFICATE):
        assert source != TRUE_CERTIFICATE
        assert not coq_session.check(source, c.THEOREM, 60).accepted


@pytest.mark.parametrize(
    "claim",
    [
        "valid_K (Var 0)) := I. Axiom cheat : False. Definition pxl_other : (True",
        "valid_K (Var 0). Axiom cheat : False. Check (Var 0)",
        "valid_K (ltac:(exact I))",
        "valid_K (let x := FTop in x)",
        "valid_K (Var 0%nat)",
    ],
)
def test_a_claim_that_is_more_than_a_term_of_constructors_never_reaches_coq(
    coq_session, claim: str
) -> None:
    source = TRUE_CERTIFICATE.replace(
        "valid_S4 (Impl (Box (Var 0)) (Box (Box (Var 0))))", claim.replace("_K", "_S4")
    )
    assert source != TRUE_CERTIFICATE
    result = coq_session.check(source, c.THEOREM, 60)
    assert not result.accepted
    assert result.elapsed_ms == 0.0  # refused by the gate, before Coq


def test_numerals_are_sent_as_constants_only_in_a_session_that_proved_them_equal(
    monkeypatch: pytest.MonkeyPatch, compiled_kernel
) -> None:
    session = CoqSession(compiled_kernel)
    try:
        assert session.numeral_constants
        assert session.as_sent("TClose 0 1023 (Var 1024)") == "TClose nm0 nm1023 (Var 1024)"
    finally:
        session.close()
    # A kernel whose constants are not their numerals (here: an audit that says nm0 is 1).
    wrong = sessions.NUMERALS_AUDIT.replace("[0%N;", "[1%N;")
    assert wrong != sessions.NUMERALS_AUDIT
    monkeypatch.setattr(sessions, "NUMERALS_AUDIT", wrong)
    session = CoqSession(compiled_kernel)
    try:
        assert not session.numeral_constants
        assert session.as_sent("TClose 0 1") == "TClose 0 1"
        assert session.check(TRUE_CERTIFICATE, c.THEOREM, 60).accepted
        assert not session.check(FALSE_CERTIFICATE, c.THEOREM, 60).accepted
    finally:
        session.close()


def test_the_claim_a_session_starts_with_has_every_piece_a_claim_can_have() -> None:
    words = set(re.findall(r"[\w~]+", AUDIT_CLAIM))
    pieces = {"~", *c._FORM_CTOR.values(), *(logic.coq_name for logic in LOGICS.values())}
    assert pieces <= words
    numerals = {int(n) for n in re.findall(r"\b\d+\b", AUDIT_CLAIM)}
    assert min(numerals) < sessions.NUMERAL_CONSTANTS <= max(numerals)


def test_a_session_whose_coq_reads_a_claim_otherwise_is_not_used(
    monkeypatch: pytest.MonkeyPatch, compiled_kernel
) -> None:
    """Coq reads a hexadecimal numeral and displays it in decimal: not as written."""
    monkeypatch.setattr(sessions, "AUDIT_CLAIM", "valid_K (Var 0x10)")
    with pytest.raises(sessions.SessionError, match="does not read claims as written"):
        CoqSession(compiled_kernel)


def test_theorems_kept_between_checks_change_no_verdict(
    monkeypatch: pytest.MonkeyPatch, compiled_kernel
) -> None:
    """Small accepted theorems stay defined for a while (no `BackTo` after each): verdicts are
    the same in every order, a rejection or a large certificate returns to the kernel-loaded
    state, and no certificate can mention a kept theorem."""
    monkeypatch.setattr(sessions, "KEEP_THEOREMS", 3)
    session = CoqSession(compiled_kernel)
    try:
        for _round in range(3):
            kept = []
            for _ in range(5):
                assert session.check(TRUE_CERTIFICATE, c.THEOREM, 60).accepted
                kept.append(session._kept)
            assert kept == [1, 2, 3, 0, 1]  # the fourth returned to the kernel-loaded state
            assert not session.check(FALSE_CERTIFICATE, c.THEOREM, 60).accepted
            assert session._kept == 0
        assert session.check(TRUE_CERTIFICATE, c.THEOREM, 60).accepted
        kept = f"{c.THEOREM}_{session.uses}"
        assert session._kept == 1
        mentions = TRUE_CERTIFICATE.replace("(TClose 0 1)", f"(TClose 0 1) {kept}")
        refused = session.check(mentions, c.THEOREM, 60)
        assert not refused.accepted and refused.elapsed_ms == 0.0
        monkeypatch.setattr(sessions, "KEEP_CHARS", 10)  # every certificate is large now
        assert session.check(TRUE_CERTIFICATE, c.THEOREM, 60).accepted
        assert session._kept == 0
    finally:
        session.close()


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_tampered_cached_kernel_is_rebuilt_not_used(tmp_path: Path, compiled_kernel) -> None:
    cache = tmp_path / "cache"
    copy = cache / "kernels" / compiled_kernel.hash
    shutil.copytree(compiled_kernel.build_dir, copy)
    assert build_intact(copy, compiled_kernel.hash)
    original = _sha256(copy / "Tableau.vo")
    with (copy / "Tableau.vo").open("ab") as vo:
        vo.write(b"\0tampered")
    assert not build_intact(copy, compiled_kernel.hash)
    kernel = build_kernel(BUILTIN_KERNEL_DIR, cache)
    assert kernel.build_dir == copy
    assert _sha256(copy / "Tableau.vo") == original
    assert build_intact(copy, compiled_kernel.hash)


def test_a_tampered_prebuilt_kernel_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, compiled_kernel
) -> None:
    prebuilt = tmp_path / "image-cache" / "kernels" / compiled_kernel.hash
    shutil.copytree(compiled_kernel.build_dir, prebuilt)
    (prebuilt / "Extra.vo").write_bytes((prebuilt / "Tableau.vo").read_bytes())
    monkeypatch.setenv("PXL_PREBUILT_KERNELS", str(tmp_path / "image-cache"))
    writable = tmp_path / "cache"
    shutil.copytree(compiled_kernel.build_dir, writable / "kernels" / compiled_kernel.hash)
    kernel = build_kernel(BUILTIN_KERNEL_DIR, writable)
    assert kernel.build_dir == writable / "kernels" / compiled_kernel.hash
