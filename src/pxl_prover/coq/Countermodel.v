(** * PXL kernel: checking a finite countermodel

    A refutation names a finite Kripke model and a world. [refutes] checks by
    computation that the model's frame has the logic's properties and that the
    goal is false at the world; [refutes_invalid] turns a successful check into
    [~ valid_on ...]. Truth is computed bottom-up, one table of worlds per modal
    subformula, so evaluation stays polynomial in the size of goal and model. *)

From Coq Require Import Bool Arith NArith List Lia.
From PXL Require Export Syntax Semantics Tableau.
Export ListNotations.

(** [E u v]: an edge u R v; [T w p]: atom p is true at world w. *)
Inductive edge_fact : Set := E : N -> N -> edge_fact.
Inductive atom_fact : Set := T : N -> N -> atom_fact.
Arguments E (_ _)%N.
Arguments T (_ _)%N.

(** Worlds are 0 .. size - 1. *)
Record fmodel : Set := mkfmodel { fm_size : N; fm_edges : list edge_fact; fm_atoms : list atom_fact }.
Arguments mkfmodel _%N (_ _)%list.

(** The model as the checker computes with it: for each world, its successors and
    its true atoms, tabulated once. The Kripke model below is built from this
    view, so soundness needs nothing about how the view was computed. *)
Record view : Set := mkview { vsize : nat; vsucc : list (list nat); vatoms : list (list N) }.

Definition worlds_of (n : nat) : list nat := seq 0 n.

(** The view is read off the certificate's lists in one pass: edges are listed
    by source world (0, 1, 2, ...), atoms by world, as PXL writes them. (Soundness
    needs nothing of this: whatever view comes out is the model that is checked.) *)
Fixpoint edges_from (w : N) (es : list edge_fact) : list nat * list edge_fact :=
  match es with
  | E u v :: rest =>
      if N.eqb u w then let (vs, later) := edges_from w rest in (N.to_nat v :: vs, later)
      else ([], es)
  | [] => ([], [])
  end.

Fixpoint atoms_at (w : N) (ts : list atom_fact) : list N * list atom_fact :=
  match ts with
  | T u p :: rest =>
      if N.eqb u w then let (ps, later) := atoms_at w rest in (p :: ps, later)
      else ([], ts)
  | [] => ([], [])
  end.

Fixpoint group_edges (k : nat) (w : N) (es : list edge_fact) : list (list nat) :=
  match k with
  | O => []
  | S k' => let (vs, later) := edges_from w es in vs :: group_edges k' (N.succ w) later
  end.

Fixpoint group_atoms (k : nat) (w : N) (ts : list atom_fact) : list (list N) :=
  match k with
  | O => []
  | S k' => let (ps, later) := atoms_at w ts in ps :: group_atoms k' (N.succ w) later
  end.

Definition view_of (m : fmodel) : view :=
  let n := N.to_nat (fm_size m) in
  mkview n (group_edges n 0 (fm_edges m)) (group_atoms n 0 (fm_atoms m)).

Definition succ (V : view) (w : nat) : list nat := nth w (vsucc V) [].
Definition adj (V : view) (w v : nat) : bool := existsb (Nat.eqb v) (succ V w).
Definition holds (V : view) (w : nat) (p : N) : bool := existsb (N.eqb p) (nth w (vatoms V) []).

(** Truth of a formula at every world, as a table indexed by world: each
    subformula is tabulated once, connectives combine tables pointwise, and a
    modal subformula looks its argument's table up at each world's successors. *)
Fixpoint zipb (f : bool -> bool -> bool) (l1 l2 : list bool) : list bool :=
  match l1, l2 with
  | x :: r1, y :: r2 => f x y :: zipb f r1 r2
  | _, _ => []
  end.

Fixpoint ev (V : view) (a : form) : list bool :=
  match a with
  | Var p => map (fun ps => existsb (N.eqb p) ps) (vatoms V)
  | FTop => map (fun _ => true) (vatoms V)
  | FBot => map (fun _ => false) (vatoms V)
  | Neg b => map negb (ev V b)
  | Conj b c => zipb andb (ev V b) (ev V c)
  | Disj b c => zipb orb (ev V b) (ev V c)
  | Impl b c => zipb implb (ev V b) (ev V c)
  | Equiv b c => zipb Bool.eqb (ev V b) (ev V c)
  | Box b => let t := ev V b in map (forallb (fun v => nth v t false)) (vsucc V)
  | Dia b => let t := ev V b in map (existsb (fun v => nth v t false)) (vsucc V)
  end.

(** Tables have one entry per world, and every successor is a world. *)
Definition wfb (V : view) : bool :=
  Nat.eqb (length (vsucc V)) (vsize V) && Nat.eqb (length (vatoms V)) (vsize V) &&
  forallb (fun w => forallb (fun v => Nat.ltb v (vsize V)) (succ V w)) (worlds_of (vsize V)).

(** The frame conditions the logic's rules need; each is computed only if needed. *)
Definition frameb (L : flags) (V : view) : bool :=
  let ws := worlds_of (vsize V) in
  (if f_refl L then forallb (fun w => adj V w w) ws else true) &&
  (if f_sym L then forallb (fun w => forallb (fun v => adj V v w) (succ V w)) ws else true) &&
  (if f_trans L then
     forallb (fun w => forallb (fun v => forallb (fun u => adj V w u) (succ V v)) (succ V w)) ws
   else true) &&
  (if f_eucl L then
     forallb (fun w => forallb (fun v => forallb (fun u => adj V v u) (succ V w)) (succ V w)) ws
   else true) &&
  (if f_serial L then
     forallb (fun w => match succ V w with [] => false | _ => true end) ws
   else true).

(** The whole check: the view of [m] is a model of the logic's frames whose world
    [w] falsifies the goal. *)
Definition refutes (L : flags) (a : form) (m : fmodel) (w : N) : bool :=
  let V := view_of m in
  wfb V && frameb L V && Nat.ltb (N.to_nat w) (vsize V) &&
  negb (nth (N.to_nat w) (ev V a) false).

(** The Kripke model a view denotes. *)
Definition fworld (V : view) : Type := { w : nat | w < vsize V }.
Definition fframe (V : view) : frame :=
  {| world := fworld V; rel := fun x y => adj V (proj1_sig x) (proj1_sig y) = true |}.
Definition fkripke (V : view) : model :=
  {| frm := fframe V; val := fun x p => holds V (proj1_sig x) p = true |}.

Lemma adj_In : forall V w v, adj V w v = true <-> In v (succ V w).
Proof.
  intros V w v. unfold adj. rewrite existsb_exists. split.
  - intros [x [Hin Heq]]. apply Nat.eqb_eq in Heq. subst. exact Hin.
  - intro Hin. exists v. split; [exact Hin | apply Nat.eqb_refl].
Qed.

Lemma in_worlds : forall n w, w < n -> In w (worlds_of n).
Proof. intros n w Hw. unfold worlds_of. apply in_seq. lia. Qed.

Lemma wfb_succ : forall V w v, wfb V = true -> w < vsize V -> In v (succ V w) -> v < vsize V.
Proof.
  intros V w v Hwf Hw Hin. unfold wfb in Hwf. apply andb_prop in Hwf as [_ Hwf].
  rewrite forallb_forall in Hwf.
  specialize (Hwf w (in_worlds _ _ Hw)). rewrite forallb_forall in Hwf.
  apply Nat.ltb_lt. exact (Hwf v Hin).
Qed.

Lemma wfb_lengths : forall V, wfb V = true ->
  length (vsucc V) = vsize V /\ length (vatoms V) = vsize V.
Proof.
  intros V Hwf. unfold wfb in Hwf. repeat rewrite andb_true_iff in Hwf.
  destruct Hwf as [[H1 H2] _]. apply Nat.eqb_eq in H1. apply Nat.eqb_eq in H2. auto.
Qed.

Lemma zipb_length : forall f l1 l2, length (zipb f l1 l2) = Nat.min (length l1) (length l2).
Proof. induction l1; destruct l2; simpl; auto. Qed.

Lemma zipb_nth : forall f l1 l2 i, i < length l1 -> i < length l2 ->
  nth i (zipb f l1 l2) false = f (nth i l1 false) (nth i l2 false).
Proof.
  induction l1 as [| x r1 IH]; destruct l2 as [| y r2]; intros i H1 H2; simpl in *; try lia.
  destruct i; [reflexivity | apply IH; lia].
Qed.

Lemma nth_map_lt : forall (A : Type) (f : A -> bool) l (d : A) i, i < length l ->
  nth i (map f l) false = f (nth i l d).
Proof.
  intros A f l d i Hi. rewrite nth_indep with (d' := f d) by (rewrite map_length; exact Hi).
  apply map_nth.
Qed.

Lemma ev_length : forall V a, wfb V = true -> length (ev V a) = vsize V.
Proof.
  intros V a Hwf. destruct (wfb_lengths V Hwf) as [Hs Ha].
  induction a; simpl; rewrite ?map_length, ?zipb_length, ?IHa1, ?IHa2, ?IHa; auto; lia.
Qed.

(** [ev] computes [forces] at every world of a well-formed view. *)
Lemma ev_correct : forall V a (x : fworld V), wfb V = true ->
  (nth (proj1_sig x) (ev V a) false = true <-> forces (fkripke V) x a).
Proof.
  intros V a. induction a; intros [w Hw] Hwf; simpl in *;
    destruct (wfb_lengths V Hwf) as [Hs Ha];
    repeat match goal with
    | |- context [nth w (zipb _ ?l1 ?l2) false] =>
        rewrite (zipb_nth _ l1 l2 w) by (rewrite ev_length; assumption)
    end.
  - rewrite (nth_map_lt _ _ _ [] w) by lia. unfold holds. tauto.
  - rewrite (nth_map_lt _ _ _ [] w) by lia. tauto.
  - rewrite (nth_map_lt _ _ _ [] w) by lia. split; [discriminate | contradiction].
  - rewrite (nth_map_lt _ _ _ false w) by (rewrite ev_length; assumption).
    rewrite negb_true_iff, <- (IHa (exist _ w Hw) Hwf). simpl.
    destruct (nth w (ev V a) false); split; congruence.
  - rewrite andb_true_iff, (IHa1 (exist _ w Hw) Hwf), (IHa2 (exist _ w Hw) Hwf). tauto.
  - rewrite orb_true_iff, (IHa1 (exist _ w Hw) Hwf), (IHa2 (exist _ w Hw) Hwf). tauto.
  - rewrite <- (IHa1 (exist _ w Hw) Hwf), <- (IHa2 (exist _ w Hw) Hwf). simpl.
    destruct (nth w (ev V a1) false), (nth w (ev V a2) false); simpl; split;
      intuition congruence.
  - rewrite <- (IHa1 (exist _ w Hw) Hwf), <- (IHa2 (exist _ w Hw) Hwf). simpl.
    destruct (nth w (ev V a1) false), (nth w (ev V a2) false); simpl; split;
      intuition congruence.
  - rewrite (nth_map_lt _ _ _ [] w) by lia. fold (succ V w).
    rewrite forallb_forall. split.
    + intros H [v Hv] Hr. simpl in Hr. apply (IHa (exist _ v Hv) Hwf). simpl.
      apply H. apply adj_In. exact Hr.
    + intros H v Hin. pose proof (wfb_succ V w v Hwf Hw Hin) as Hv.
      apply (IHa (exist _ v Hv) Hwf). apply (H (exist _ v Hv)). apply adj_In. exact Hin.
  - rewrite (nth_map_lt _ _ _ [] w) by lia. fold (succ V w).
    rewrite existsb_exists. split.
    + intros [v [Hin Ht]]. pose proof (wfb_succ V w v Hwf Hw Hin) as Hv.
      exists (exist _ v Hv). split; [apply adj_In; exact Hin |].
      apply (IHa (exist _ v Hv) Hwf). exact Ht.
    + intros [[v Hv] [Hr Ht]]. exists v. split; [apply adj_In; exact Hr |].
      apply (IHa (exist _ v Hv) Hwf). exact Ht.
Qed.

Lemma forallb_at : forall (f : nat -> bool) l x, forallb f l = true -> In x l -> f x = true.
Proof. intros f l x H Hin. rewrite forallb_forall in H. exact (H x Hin). Qed.

(** A well-formed view that passes [frameb] has the logic's frame properties. *)
Lemma frameb_ok : forall L V, wfb V = true -> frameb L V = true -> frame_ok L (fframe V).
Proof.
  intros L V Hwf Hf. unfold frameb in Hf. repeat rewrite andb_true_iff in Hf.
  destruct Hf as [[[[Hr Hs] Ht] He] Hd].
  unfold frame_ok. repeat split; intro HL; rewrite HL in *.
  - intros [w Hw]. simpl. exact (forallb_at _ _ w Hr (in_worlds _ _ Hw)).
  - intros [w Hw] [v Hv] H. simpl in *. apply adj_In in H.
    exact (forallb_at _ _ v (forallb_at _ _ w Hs (in_worlds _ _ Hw)) H).
  - intros [w Hw] [v Hv] [u Hu] H1 H2. simpl in *. apply adj_In in H1. apply adj_In in H2.
    exact (forallb_at _ _ u (forallb_at _ _ v (forallb_at _ _ w Ht (in_worlds _ _ Hw)) H1) H2).
  - intros [w Hw] [v Hv] [u Hu] H1 H2. simpl in *. apply adj_In in H1. apply adj_In in H2.
    exact (forallb_at _ _ u (forallb_at _ _ v (forallb_at _ _ w He (in_worlds _ _ Hw)) H1) H2).
  - intros [w Hw]. pose proof (forallb_at _ _ w Hd (in_worlds _ _ Hw)) as Hs'. simpl in Hs'.
    destruct (succ V w) as [| v rest] eqn:Es; [discriminate |].
    assert (Hin : In v (succ V w)) by (rewrite Es; left; reflexivity).
    pose proof (wfb_succ V w v Hwf Hw Hin) as Hv.
    exists (exist _ v Hv). simpl. apply adj_In. exact Hin.
Qed.

(** A successful check refutes the goal on the logic's frames. *)
Theorem refutes_invalid : forall L (P : frame -> Prop) a m w,
  (forall F, frame_ok L F -> P F) -> refutes L a m w = true -> ~ valid_on P a.
Proof.
  intros L P a m w HP Hc Hvalid. unfold refutes in Hc.
  repeat rewrite andb_true_iff in Hc. destruct Hc as [[[Hwf Hf] Hw] Hn].
  apply Nat.ltb_lt in Hw. apply negb_true_iff in Hn.
  assert (Hforces := Hvalid (fkripke (view_of m)) (HP _ (frameb_ok L _ Hwf Hf))
    (exist (fun v => v < vsize (view_of m)) (N.to_nat w) Hw)).
  apply (ev_correct (view_of m) a (exist _ (N.to_nat w) Hw) Hwf) in Hforces.
  simpl in Hforces. congruence.
Qed.

Ltac frame_of := intros F HF; unfold frame_ok in HF; simpl in HF;
  repeat match goal with H : _ /\ _ |- _ => destruct H end;
  unfold frame_T, frame_D, frame_B, frame_S4, frame_S5, frame_KD45;
  repeat split; auto.

Theorem refute_K : forall a m w, refutes flags_K a m w = true -> ~ valid_K a.
Proof. intros a m w. apply refutes_invalid. intros. exact I. Qed.
Theorem refute_T : forall a m w, refutes flags_T a m w = true -> ~ valid_T a.
Proof. intros a m w. apply refutes_invalid. frame_of. Qed.
Theorem refute_D : forall a m w, refutes flags_D a m w = true -> ~ valid_D a.
Proof. intros a m w. apply refutes_invalid. frame_of. Qed.
Theorem refute_B : forall a m w, refutes flags_B a m w = true -> ~ valid_B a.
Proof. intros a m w. apply refutes_invalid. frame_of. Qed.
Theorem refute_S4 : forall a m w, refutes flags_S4 a m w = true -> ~ valid_S4 a.
Proof. intros a m w. apply refutes_invalid. frame_of. Qed.
Theorem refute_S5 : forall a m w, refutes flags_S5 a m w = true -> ~ valid_S5 a.
Proof. intros a m w. apply refutes_invalid. frame_of. Qed.
Theorem refute_KD45 : forall a m w, refutes flags_KD45 a m w = true -> ~ valid_KD45 a.
Proof. intros a m w. apply refutes_invalid. frame_of. Qed.
