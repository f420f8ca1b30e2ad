(** * PXL kernel: syntax of modal formulas

    A deep embedding of the goal language. Atoms are numbered (binary numbers,
    so that a goal with many atoms stays a small term); the prover maps the
    goal's atom names to numbers in order of first occurrence. *)

From Coq Require Import Bool Arith NArith.
(* Certificates write atom numbers and positions as binary numbers (N): export the
   number notation they are read with. *)
From Coq Require Export BinNatDef.

Inductive form : Set :=
| Var : N -> form
| FTop : form
| FBot : form
| Neg : form -> form
| Conj : form -> form -> form
| Disj : form -> form -> form
| Impl : form -> form -> form
| Equiv : form -> form -> form
| Box : form -> form
| Dia : form -> form.

(** Atom numbers are read as binary numbers: [Var 12] is [Var 12%N]. *)
Arguments Var _%N.

(** Boolean equality, used by the tableau checker to close branches. *)
Fixpoint form_eqb (a b : form) : bool :=
  match a, b with
  | Var n, Var m => N.eqb n m
  | FTop, FTop => true
  | FBot, FBot => true
  | Neg a1, Neg b1 => form_eqb a1 b1
  | Conj a1 a2, Conj b1 b2 => form_eqb a1 b1 && form_eqb a2 b2
  | Disj a1 a2, Disj b1 b2 => form_eqb a1 b1 && form_eqb a2 b2
  | Impl a1 a2, Impl b1 b2 => form_eqb a1 b1 && form_eqb a2 b2
  | Equiv a1 a2, Equiv b1 b2 => form_eqb a1 b1 && form_eqb a2 b2
  | Box a1, Box b1 => form_eqb a1 b1
  | Dia a1, Dia b1 => form_eqb a1 b1
  | _, _ => false
  end.

Lemma form_eqb_eq : forall a b, form_eqb a b = true -> a = b.
Proof.
  induction a; destruct b; simpl; intro H; try discriminate;
    try (apply andb_prop in H; destruct H as [H1 H2]);
    try (f_equal; auto; fail).
  apply N.eqb_eq in H. subst. reflexivity.
Qed.

(** Negation normal form: [nnf a] is equivalent to [a], [nneg a] to [Neg a];
    both push negations down to atoms. *)
Fixpoint nnf (a : form) : form :=
  match a with
  | Var p => Var p
  | FTop => FTop
  | FBot => FBot
  | Neg b => nneg b
  | Conj b c => Conj (nnf b) (nnf c)
  | Disj b c => Disj (nnf b) (nnf c)
  | Impl b c => Disj (nneg b) (nnf c)
  | Equiv b c => Conj (Disj (nneg b) (nnf c)) (Disj (nnf b) (nneg c))
  | Box b => Box (nnf b)
  | Dia b => Dia (nnf b)
  end
with nneg (a : form) : form :=
  match a with
  | Var p => Neg (Var p)
  | FTop => FBot
  | FBot => FTop
  | Neg b => nnf b
  | Conj b c => Disj (nneg b) (nneg c)
  | Disj b c => Conj (nneg b) (nneg c)
  | Impl b c => Conj (nnf b) (nneg c)
  | Equiv b c => Disj (Conj (nnf b) (nneg c)) (Conj (nneg b) (nnf c))
  | Box b => Dia (nneg b)
  | Dia b => Box (nneg b)
  end.
