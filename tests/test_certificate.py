"""Certificates: rendered for the kernel, refused unless of PXL's own shape, checked by Coq.

These tests drive a real Coq session; a certificate is `proved` only if Coq accepts it."""

from __future__ import annotations

import os
import shutil
import signal
from dataclasses import replace
from pathlib import Path

import pytest

from pxl_prover import certificate as c
from pxl_prover import prooftree as t
from pxl_prover.check import gate
from pxl_prover.countermodel import Countermodel
from pxl_prover.kernel import BUILTIN_KERNEL_DIR, build_kernel
from pxl_prover.logics import get_logic
from pxl_prover.sessions import CoqSession, SessionDied, SessionTimeout
from pxl_prover.syntax import parse

# BOX A -> BOX BOX A in S4: after TAnd, 1 = BOX A, 2 = DIA DIA ~A; two DiaRules make
# worlds 1 and 2 (relations 0 = (0,1), 1 = (1,2)); Trans gives (0,2); BoxRule puts A at 2.
FOUR = t.AndRule(0, t.DiaRule(2, t.DiaRule(3, t.Trans(0, 1, t.BoxRule(1, 2, t.Close(5, 4))))))
FOUR_GOAL = parse("BOX A -> BOX BOX A")


def test_render_states_the_goal_and_applies_the_logics_lemma() -> None:
    source = c.render(FOUR_GOAL, get_logic("S4"), FOUR)
    assert "Theorem pxl_goal : valid_S4 (Impl (Box (Var 0)) (Box (Box (Var 0))))." in source
    tree = "(TAnd 0 (TDia 0 (TDia 0 (TTrans 1 0 (TBox 3 0 (TClose 0 1))))))"
    assert f"Proof (tableau_S4 _ {tree}\n  ltac:(vm_cast_no_check (eq_refl true)))." in source
    assert "(* atoms: 0 = A *)" in source


def test_atom_renaming_gives_the_same_coq_statement() -> None:
    one = c.render(parse("BOX X -> BOX BOX X"), get_logic("S4"), FOUR).splitlines()[2:]
    two = c.render(FOUR_GOAL, get_logic("S4"), FOUR).splitlines()[2:]
    assert one == two


def test_indices_out_of_range_are_refused_at_render_time() -> None:
    with pytest.raises(ValueError, match="out of range"):
        c.render(FOUR_GOAL, get_logic("S4"), t.Close(0, 7))


def test_coq_accepts_a_correct_certificate(coq_session: CoqSession) -> None:
    result = coq_session.check(c.render(FOUR_GOAL, get_logic("S4"), FOUR), c.THEOREM, 30)
    assert result.accepted, result.message
    assert result.assumptions == ("Classical_Prop.classic",)


def test_coq_rejects_a_frame_rule_the_logic_does_not_have(coq_session: CoqSession) -> None:
    # The same tree in T: transitivity is not a T rule, so the checker must say no.
    result = coq_session.check(c.render(FOUR_GOAL, get_logic("T"), FOUR), c.THEOREM, 30)
    assert not result.accepted
    assert "eq_refl" in result.message
    # ... and the session is back in its kernel-loaded state for the next check.
    assert coq_session.check(c.render(FOUR_GOAL, get_logic("S4"), FOUR), c.THEOREM, 30).accepted


def test_coq_rejects_a_wrong_closing_pair(coq_session: CoqSession) -> None:
    wrong = t.AndRule(0, t.DiaRule(2, t.DiaRule(3, t.Trans(0, 1, t.BoxRule(1, 2, t.Close(5, 3))))))
    assert not coq_session.check(
        c.render(FOUR_GOAL, get_logic("S4"), wrong), c.THEOREM, 30
    ).accepted


@pytest.mark.parametrize(
    "edit",
    [
        lambda s: s.replace("Proof (", "Admitted.\nProof ("),
        lambda s: s.replace("Proof (", "Proof. exact (").replace(")))).", ")))). Qed."),
        lambda s: s.replace(
            "From PXL Require Import Tableau.",
            "Axiom cheat : False.\nFrom PXL Require Import Tableau.",
        ),
        lambda s: s.replace("TAnd 0", "(match cheat with end) 0"),
        lambda s: s.replace("ltac:(vm_cast_no_check (eq_refl true))", "ltac:(admit)"),
        lambda s: s.replace("ltac:(vm_cast_no_check (eq_refl true))", "(eq_refl true)"),
        lambda s: s.replace("tableau_S4 _", "tableau_K _"),
        lambda s: s.replace("Theorem pxl_goal", "Theorem other"),
        lambda s: s + "\nPrint Assumptions pxl_goal.",
    ],
)
def test_anything_but_pxls_certificate_shape_is_refused(coq_session: CoqSession, edit) -> None:
    source = edit(c.render(FOUR_GOAL, get_logic("S4"), FOUR))
    with pytest.raises(gate.CertificateFormatError):
        gate.read(source)
    assert not coq_session.check(source, c.THEOREM, 30).accepted


def test_a_lemma_resting_on_an_undeclared_axiom_is_refused(tmp_path: Path) -> None:
    """What a proof rests on is checked: a kernel whose lemma uses a new axiom fails."""
    source = tmp_path / "kernel"
    shutil.copytree(BUILTIN_KERNEL_DIR, source)
    tableau = source / "Tableau.v"
    text = (
        tableau.read_text()
        .replace(
            "Theorem tableau_S4 :",
            "Axiom sneaky : True.\nTheorem tableau_S4 :",
        )
        .replace(
            "intros a t H M [Hr Ht]. apply (check_goal_valid flags_S4 a t H). flags_ok.",
            "intros a t H M [Hr Ht]. pose proof sneaky. "
            "apply (check_goal_valid flags_S4 a t H). flags_ok.",
        )
    )
    tableau.write_text(text)
    session = CoqSession(build_kernel(source, tmp_path / "cache"))
    try:
        result = session.check(c.render(FOUR_GOAL, get_logic("S4"), FOUR), c.THEOREM, 60)
        assert not result.accepted
        assert "sneaky" in result.message
    finally:
        session.close()


def test_a_killed_session_reports_that_it_died(compiled_kernel) -> None:
    session = CoqSession(compiled_kernel)
    os.kill(session.pid, signal.SIGKILL)
    with pytest.raises(SessionDied):
        session.check(c.render(FOUR_GOAL, get_logic("S4"), FOUR), c.THEOREM, 10)
    assert not session.alive()


def test_a_hung_session_times_out_and_is_killed(compiled_kernel) -> None:
    session = CoqSession(compiled_kernel)
    os.kill(session.pid, signal.SIGSTOP)
    try:
        with pytest.raises(SessionTimeout):
            session.check(c.render(FOUR_GOAL, get_logic("S4"), FOUR), c.THEOREM, 0.5)
        assert not session.alive()
    finally:
        session.close()


# DIA A -> BOX A in S4: w0 sees w1 (A true) and w2 (A false); all reflexive.
SPLIT = Countermodel(
    worlds=("w0", "w1", "w2"),
    relation=(("w0", "w0"), ("w0", "w1"), ("w0", "w2"), ("w1", "w1"), ("w2", "w2")),
    valuation={"w1": ("A",)},
    world="w0",
)
SPLIT_GOAL = parse("DIA A -> BOX A")


def test_coq_accepts_a_correct_refutation(coq_session: CoqSession) -> None:
    source = c.render_refutation(SPLIT_GOAL, get_logic("S4"), SPLIT)
    assert "Theorem pxl_goal : ~ valid_S4 (Impl (Dia (Var 0)) (Box (Var 0)))." in source
    result = coq_session.check(source, c.THEOREM, 30)
    assert result.accepted, result.message
    assert result.assumptions == ()


@pytest.mark.parametrize(
    ("logic", "model"),
    [
        # A true everywhere: the goal holds at w0
        ("S4", replace(SPLIT, valuation={"w0": ("A",), "w1": ("A",), "w2": ("A",)})),
        # not reflexive, so not a T model
        ("T", replace(SPLIT, relation=(("w0", "w1"), ("w0", "w2")))),
        # not symmetric, so not an S5 model
        ("S5", SPLIT),
        # the named world is not the falsifying one
        ("S4", replace(SPLIT, world="w1")),
    ],
)
def test_coq_rejects_a_model_that_does_not_refute(
    coq_session: CoqSession, logic: str, model: Countermodel
) -> None:
    result = coq_session.check(
        c.render_refutation(SPLIT_GOAL, get_logic(logic), model), c.THEOREM, 30
    )
    assert not result.accepted


def test_a_refutation_must_apply_the_refutation_lemma() -> None:
    source = c.render_refutation(SPLIT_GOAL, get_logic("S4"), SPLIT)
    with pytest.raises(gate.CertificateFormatError):
        gate.read(source.replace("refute_S4", "tableau_S4"))
    with pytest.raises(gate.CertificateFormatError):
        gate.read(source.replace("~ valid_S4", "valid_S4"))
    with pytest.raises(gate.CertificateFormatError):
        gate.read(source.replace("Countermodel.", "Tableau."))
