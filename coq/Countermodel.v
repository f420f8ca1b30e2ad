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

Definition size (m : fmodel) : nat := N.to_nat (fm_size m).
Definition worlds (m : fmodel) : list nat := seq 0 (size m).
Definition edges (m : fmodel) : list (nat * nat) :=
  map (fun e => match e with E u v => (N.to_nat u, N.to_nat v) end) (fm_edges m).

Definition edgeb (m : fmodel) (w v : nat) : bool :=
  existsb (fun e => Nat.eqb (fst e) w && Nat.eqb (snd e) v) (edges m).
Definition atomb (m : fmodel) (w : nat) (p : N) : bool :=
  existsb (fun f => match f with T u q => Nat.eqb (N.to_nat u) w && N.eqb q p end) (fm_atoms m).
Definition succs (m : fmodel) (w : nat) : list nat :=
  map snd (filter (fun e => Nat.eqb (fst e) w) (edges m)).

(** Truth of a formula as a function of the world; modal subformulas tabulate
    their argument over all worlds once. *)
Fixpoint ev (m : fmodel) (a : form) : nat -> bool :=
  match a with
  | Var p => fun w => atomb m w p
  | FTop => fun _ => true
  | FBot => fun _ => false
  | Neg b => let f := ev m b in fun w => negb (f w)
  | Conj b c => let f := ev m b in let g := ev m c in fun w => f w && g w
  | Disj b c => let f := ev m b in let g := ev m c in fun w => f w || g w
  | Impl b c => let f := ev m b in let g := ev m c in fun w => negb (f w) || g w
  | Equiv b c => let f := ev m b in let g := ev m c in fun w => Bool.eqb (f w) (g w)
  | Box b =>
      let t := map (ev m b) (worlds m) in
      fun w => forallb (fun v => nth v t false) (succs m w)
  | Dia b =>
      let t := map (ev m b) (worlds m) in
      fun w => existsb (fun v => nth v t false) (succs m w)
  end.

Definition wfb (m : fmodel) : bool :=
  forallb (fun e => Nat.ltb (fst e) (size m) && Nat.ltb (snd e) (size m)) (edges m).

Definition frameb (L : flags) (m : fmodel) : bool :=
  (negb (f_refl L) || forallb (fun w => edgeb m w w) (worlds m)) &&
  (negb (f_sym L) || forallb (fun e => edgeb m (snd e) (fst e)) (edges m)) &&
  (negb (f_trans L) || forallb (fun e1 => forallb (fun e2 =>
      negb (Nat.eqb (snd e1) (fst e2)) || edgeb m (fst e1) (snd e2)) (edges m)) (edges m)) &&
  (negb (f_eucl L) || forallb (fun e1 => forallb (fun e2 =>
      negb (Nat.eqb (fst e1) (fst e2)) || edgeb m (snd e1) (snd e2)) (edges m)) (edges m)) &&
  (negb (f_serial L) || forallb (fun w => negb (match succs m w with [] => true | _ => false end))
      (worlds m)).

(** The whole check: a well-formed model of the logic's frames whose world [w]
    falsifies the goal. *)
Definition refutes (L : flags) (a : form) (m : fmodel) (w : N) : bool :=
  wfb m && frameb L m && Nat.ltb (N.to_nat w) (size m) && negb (ev m a (N.to_nat w)).

(** The Kripke model a finite model denotes. *)
Definition fworld (m : fmodel) : Type := { w : nat | w < size m }.
Definition fframe (m : fmodel) : frame :=
  {| world := fworld m; rel := fun x y => edgeb m (proj1_sig x) (proj1_sig y) = true |}.
Definition fkripke (m : fmodel) : model :=
  {| frm := fframe m; val := fun x p => atomb m (proj1_sig x) p = true |}.

Lemma edgeb_In : forall m w v, edgeb m w v = true <-> In (w, v) (edges m).
Proof.
  intros m w v. unfold edgeb. rewrite existsb_exists. split.
  - intros [[x y] [Hin Heq]]. apply andb_prop in Heq as [H1 H2].
    apply Nat.eqb_eq in H1. apply Nat.eqb_eq in H2. simpl in *. subst. exact Hin.
  - intro Hin. exists (w, v). split; [exact Hin |]. simpl. rewrite !Nat.eqb_refl. reflexivity.
Qed.

Lemma succs_In : forall m w v, In v (succs m w) <-> edgeb m w v = true.
Proof.
  intros m w v. rewrite edgeb_In. unfold succs. rewrite in_map_iff. split.
  - intros [[x y] [Hy Hin]]. apply filter_In in Hin as [Hin Hx].
    apply Nat.eqb_eq in Hx. simpl in *. subst. exact Hin.
  - intro Hin. exists (w, v). split; [reflexivity |]. apply filter_In. simpl.
    split; [exact Hin | apply Nat.eqb_refl].
Qed.

Lemma wfb_edge : forall m w v, wfb m = true -> edgeb m w v = true -> w < size m /\ v < size m.
Proof.
  intros m w v Hwf He. apply edgeb_In in He. unfold wfb in Hwf.
  rewrite forallb_forall in Hwf. apply Hwf in He. simpl in He.
  apply andb_prop in He as [H1 H2]. apply Nat.ltb_lt in H1. apply Nat.ltb_lt in H2. lia.
Qed.

Lemma table_nth : forall m (f : nat -> bool) v, v < size m -> nth v (map f (worlds m)) false = f v.
Proof.
  intros m f v Hv. unfold worlds.
  rewrite nth_indep with (d' := f 0) by (rewrite map_length, seq_length; exact Hv).
  rewrite map_nth, seq_nth by exact Hv. reflexivity.
Qed.

(** [ev] computes [forces] at every world of a well-formed model. *)
Lemma ev_correct : forall m a (x : fworld m), wfb m = true ->
  (ev m a (proj1_sig x) = true <-> forces (fkripke m) x a).
Proof.
  intros m a. induction a; intros [w Hw] Hwf; simpl in *.
  - tauto.
  - tauto.
  - split; [discriminate | contradiction].
  - rewrite negb_true_iff, <- (IHa (exist _ w Hw) Hwf). simpl. destruct (ev m a w); split;
      congruence.
  - rewrite andb_true_iff, (IHa1 (exist _ w Hw) Hwf), (IHa2 (exist _ w Hw) Hwf). tauto.
  - rewrite orb_true_iff, (IHa1 (exist _ w Hw) Hwf), (IHa2 (exist _ w Hw) Hwf). tauto.
  - rewrite orb_true_iff, negb_true_iff, <- (IHa1 (exist _ w Hw) Hwf),
      <- (IHa2 (exist _ w Hw) Hwf). simpl.
    destruct (ev m a1 w), (ev m a2 w); split; intuition congruence.
  - rewrite <- (IHa1 (exist _ w Hw) Hwf), <- (IHa2 (exist _ w Hw) Hwf). simpl.
    destruct (ev m a1 w), (ev m a2 w); simpl; split; intuition congruence.
  - rewrite forallb_forall. split.
    + intros H [v Hv] Hr. simpl in Hr. apply (IHa (exist _ v Hv) Hwf). simpl.
      rewrite <- (table_nth m (ev m a) v Hv). apply H. apply succs_In. exact Hr.
    + intros H v Hin. apply succs_In in Hin.
      destruct (wfb_edge m w v Hwf Hin) as [_ Hv].
      rewrite (table_nth m (ev m a) v Hv).
      apply (IHa (exist _ v Hv) Hwf). apply (H (exist _ v Hv)). exact Hin.
  - rewrite existsb_exists. split.
    + intros [v [Hin Ht]]. apply succs_In in Hin.
      destruct (wfb_edge m w v Hwf Hin) as [_ Hv].
      rewrite (table_nth m (ev m a) v Hv) in Ht.
      exists (exist _ v Hv). split; [exact Hin |]. apply (IHa (exist _ v Hv) Hwf). exact Ht.
    + intros [[v Hv] [Hr Ht]]. exists v. split; [apply succs_In; exact Hr |].
      rewrite (table_nth m (ev m a) v Hv). apply (IHa (exist _ v Hv) Hwf). exact Ht.
Qed.

(** A model that passes [frameb] has the logic's frame properties. *)
Lemma frameb_ok : forall L m, wfb m = true -> frameb L m = true -> frame_ok L (fframe m).
Proof.
  intros L m Hwf Hf. unfold frameb in Hf.
  repeat rewrite andb_true_iff in Hf.
  destruct Hf as [[[[Hr Hs] Ht] He] Hd].
  unfold frame_ok. repeat split; intro HL; rewrite HL in *; simpl in *.
  - intros [w Hw]. simpl. rewrite forallb_forall in Hr. apply Hr.
    unfold worlds. apply in_seq. lia.
  - intros [w Hw] [v Hv] H. simpl in *. rewrite forallb_forall in Hs.
    apply edgeb_In in H. exact (Hs _ H).
  - intros [w Hw] [v Hv] [u Hu] H1 H2. simpl in *. rewrite forallb_forall in Ht.
    apply edgeb_In in H1. apply edgeb_In in H2.
    specialize (Ht _ H1). rewrite forallb_forall in Ht. specialize (Ht _ H2).
    simpl in Ht. rewrite Nat.eqb_refl in Ht. exact Ht.
  - intros [w Hw] [v Hv] [u Hu] H1 H2. simpl in *. rewrite forallb_forall in He.
    apply edgeb_In in H1. apply edgeb_In in H2.
    specialize (He _ H1). rewrite forallb_forall in He. specialize (He _ H2).
    simpl in He. rewrite Nat.eqb_refl in He. exact He.
  - intros [w Hw]. rewrite forallb_forall in Hd.
    assert (Hin : In w (worlds m)) by (unfold worlds; apply in_seq; lia).
    specialize (Hd _ Hin). destruct (succs m w) as [| v rest] eqn:Es; [discriminate |].
    assert (Hv : In v (succs m w)) by (rewrite Es; left; reflexivity).
    apply succs_In in Hv. destruct (wfb_edge m w v Hwf Hv) as [_ Hvs].
    exists (exist _ v Hvs). exact Hv.
Qed.

(** A successful check refutes the goal on the logic's frames. *)
Theorem refutes_invalid : forall L (P : frame -> Prop) a m w,
  (forall F, frame_ok L F -> P F) -> refutes L a m w = true -> ~ valid_on P a.
Proof.
  intros L P a m w HP Hc Hvalid. unfold refutes in Hc.
  repeat rewrite andb_true_iff in Hc. destruct Hc as [[[Hwf Hf] Hw] Hn].
  apply Nat.ltb_lt in Hw. apply negb_true_iff in Hn.
  pose (x := exist (fun v => v < size m) (N.to_nat w) Hw : fworld m).
  assert (Hforces := Hvalid (fkripke m) (HP _ (frameb_ok L m Hwf Hf)) x).
  apply (ev_correct m a x Hwf) in Hforces. simpl in Hforces. congruence.
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
