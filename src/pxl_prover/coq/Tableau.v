(** * PXL kernel: the certificate checker and its soundness

    A certificate is a closed labelled tableau for the negation normal form of
    the negated goal. [check] replays it; [check_sound] proves that a replay
    that succeeds means no model of the logic's frames satisfies the root
    branch, hence the goal is valid. Certificates are checked by reflection
    ([vm_compute] inside Coq's kernel), so a proof is small and fast to check.

    Branch state: [es] labelled formulas and [rs] relation edges, both newest
    first and addressed by position (0 = most recently added), and [next], the
    first unused label. A certificate writes positions and labels as binary
    numbers ([N]), which keeps large certificates small terms; the checker
    turns them into [nat] as it goes. *)

From Coq Require Import Bool Arith NArith List Lia Classical.
Import ListNotations.
From PXL Require Export Syntax Semantics.

Inductive tab : Set :=
| TClose : N -> N -> tab          (* (w, A) and (w, Neg A) *)
| TBot : N -> tab                   (* (w, FBot) *)
| TAnd : N -> tab -> tab            (* (w, A /\ B): add (w, A), (w, B) *)
| TOr : N -> tab -> tab -> tab      (* (w, A \/ B): branch on (w, A) | (w, B) *)
| TBox : N -> N -> tab -> tab     (* (w, []A) and edge (w, v): add (v, A) *)
| TDia : N -> tab -> tab            (* (w, <>A): fresh v, add edge (w, v), (v, A) *)
| TRefl : N -> tab -> tab           (* reflexive: add edge (w, w) *)
| TSerial : N -> tab -> tab         (* serial: fresh v, add edge (w, v) *)
| TSym : N -> tab -> tab            (* symmetric: edge (w, v) gives (v, w) *)
| TTrans : N -> N -> tab -> tab   (* transitive: (w, v), (v, u) give (w, u) *)
| TEucl : N -> N -> tab -> tab.   (* euclidean: (w, v), (w, u) give (v, u) *)

(** Positions and labels in a certificate are read as binary numbers. *)
Arguments TClose (_ _)%N.
Arguments TBot _%N.
Arguments TAnd _%N _.
Arguments TOr _%N _ _.
Arguments TBox (_ _)%N _.
Arguments TDia _%N _.
Arguments TRefl _%N _.
Arguments TSerial _%N _.
Arguments TSym _%N _.
Arguments TTrans (_ _)%N _.
Arguments TEucl (_ _)%N _.

(** Which frame rules a logic permits. *)
Record flags : Set := mkflags {
  f_refl : bool; f_sym : bool; f_trans : bool; f_eucl : bool; f_serial : bool }.

Definition entry : Set := (nat * form)%type.
Definition edge : Set := (nat * nat)%type.

Fixpoint check (L : flags) (es : list entry) (rs : list edge) (next : nat) (t : tab)
  {struct t} : bool :=
  match t with
  | TClose i j =>
      match nth_error es (N.to_nat i), nth_error es (N.to_nat j) with
      | Some (w, a), Some (v, Neg b) => Nat.eqb w v && form_eqb a b
      | _, _ => false
      end
  | TBot i =>
      match nth_error es (N.to_nat i) with
      | Some (_, FBot) => true
      | _ => false
      end
  | TAnd i t' =>
      match nth_error es (N.to_nat i) with
      | Some (w, Conj a b) => check L ((w, b) :: (w, a) :: es) rs next t'
      | _ => false
      end
  | TOr i t1 t2 =>
      match nth_error es (N.to_nat i) with
      | Some (w, Disj a b) =>
          check L ((w, a) :: es) rs next t1 && check L ((w, b) :: es) rs next t2
      | _ => false
      end
  | TBox i k t' =>
      match nth_error es (N.to_nat i), nth_error rs (N.to_nat k) with
      | Some (w, Box a), Some (w', v) => Nat.eqb w w' && check L ((v, a) :: es) rs next t'
      | _, _ => false
      end
  | TDia i t' =>
      match nth_error es (N.to_nat i) with
      | Some (w, Dia a) => check L ((next, a) :: es) ((w, next) :: rs) (S next) t'
      | _ => false
      end
  | TRefl w t' =>
      f_refl L && Nat.ltb (N.to_nat w) next &&
      check L es ((N.to_nat w, N.to_nat w) :: rs) next t'
  | TSerial w t' =>
      f_serial L && Nat.ltb (N.to_nat w) next &&
      check L es ((N.to_nat w, next) :: rs) (S next) t'
  | TSym k t' =>
      f_sym L &&
      match nth_error rs (N.to_nat k) with
      | Some (w, v) => check L es ((v, w) :: rs) next t'
      | None => false
      end
  | TTrans k1 k2 t' =>
      f_trans L &&
      match nth_error rs (N.to_nat k1), nth_error rs (N.to_nat k2) with
      | Some (w, v), Some (v', u) => Nat.eqb v v' && check L es ((w, u) :: rs) next t'
      | _, _ => false
      end
  | TEucl k1 k2 t' =>
      f_eucl L &&
      match nth_error rs (N.to_nat k1), nth_error rs (N.to_nat k2) with
      | Some (w, v), Some (w', u) => Nat.eqb w w' && check L es ((v, u) :: rs) next t'
      | _, _ => false
      end
  end.

(** The root branch of a goal: its negation, in NNF, at world 0. *)
Definition check_goal (L : flags) (a : form) (t : tab) : bool :=
  check L [(0, nneg a)] [] 1 t.

Section Soundness.

Variable L : flags.

Definition frame_ok (F : frame) : Prop :=
  (f_refl L = true -> reflexive F) /\ (f_sym L = true -> symmetric F) /\
  (f_trans L = true -> transitive F) /\ (f_eucl L = true -> euclidean F) /\
  (f_serial L = true -> serial F).

Definition sat (M : model) (f : nat -> world M) (es : list entry) (rs : list edge) : Prop :=
  (forall w a, In (w, a) es -> forces M (f w) a) /\
  (forall w v, In (w, v) rs -> rel M (f w) (f v)).

Definition bounded (es : list entry) (rs : list edge) (next : nat) : Prop :=
  (forall w a, In (w, a) es -> w < next) /\
  (forall w v, In (w, v) rs -> w < next /\ v < next).

Definition extend {M : model} (f : nat -> world M) (n : nat) (x : world M) : nat -> world M :=
  fun m => if Nat.eqb m n then x else f m.

Lemma extend_old : forall (M : model) (f : nat -> world M) n x m, m < n -> extend f n x m = f m.
Proof.
  intros. unfold extend. destruct (Nat.eqb_spec m n); [lia | reflexivity].
Qed.

Lemma extend_new : forall (M : model) (f : nat -> world M) n x, extend f n x n = x.
Proof. intros. unfold extend. rewrite Nat.eqb_refl. reflexivity. Qed.

(** Adding a fresh world [next] reached from [w]. *)
Lemma sat_fresh : forall (M : model) (f : nat -> world M) es rs next w x a,
  sat M f es rs -> bounded es rs next -> w < next -> rel M (f w) x ->
  (forall b, a = Some b -> forces M x b) ->
  sat M (extend f next x)
      (match a with Some b => (next, b) :: es | None => es end) ((w, next) :: rs).
Proof.
  intros M f es rs next w x a [He Hr] [Be Br] Hw Hx Ha. split.
  - intros u c Hin. destruct a as [b|].
    + destruct Hin as [Heq | Hin].
      * inversion Heq; subst. rewrite extend_new. auto.
      * rewrite extend_old by (eapply Be; eauto). auto.
    + rewrite extend_old by (eapply Be; eauto). auto.
  - intros u v [Heq | Hin].
    + inversion Heq; subst. rewrite extend_new, extend_old by exact Hw. exact Hx.
    + destruct (Br u v Hin). rewrite !extend_old by assumption. auto.
Qed.

Ltac entry_of H :=
  match type of H with
  | nth_error _ _ = Some _ => apply nth_error_In in H
  end.

Theorem check_sound : forall t es rs next,
  check L es rs next t = true ->
  forall M : model, frame_ok M -> bounded es rs next -> forall f, ~ sat M f es rs.
Proof.
  induction t; intros es rs next Hc M HF HB f HS; simpl in Hc;
    destruct HF as [FR [FS [FT [FE FD]]]];
    pose proof HS as [He Hr]; pose proof HB as [Be Br].
  - (* TClose *)
    destruct (nth_error es (N.to_nat n)) as [[w a]|] eqn:E1; try discriminate.
    destruct (nth_error es (N.to_nat n0)) as [[v b]|] eqn:E2; try discriminate.
    destruct b; try discriminate.
    apply andb_prop in Hc as [Hw Hab].
    apply Nat.eqb_eq in Hw. apply form_eqb_eq in Hab. subst.
    entry_of E1. entry_of E2.
    exact (He v (Neg b) E2 (He v b E1)).
  - (* TBot *)
    destruct (nth_error es (N.to_nat n)) as [[w a]|] eqn:E1; try discriminate.
    destruct a; try discriminate. entry_of E1. exact (He w FBot E1).
  - (* TAnd *)
    destruct (nth_error es (N.to_nat n)) as [[w a]|] eqn:E1; try discriminate.
    destruct a; try discriminate. entry_of E1.
    destruct (He w _ E1) as [H1 H2].
    apply (IHt _ _ _ Hc M (conj FR (conj FS (conj FT (conj FE FD)))) ) with (f := f).
    + split; [| exact Br]. intros u c [Heq | [Heq | Hin]];
        try (inversion Heq; subst; eapply Be; eauto); eauto.
    + split; [| exact Hr]. intros u c [Heq | [Heq | Hin]];
        try (inversion Heq; subst; assumption); auto.
  - (* TOr *)
    destruct (nth_error es (N.to_nat n)) as [[w a]|] eqn:E1; try discriminate.
    destruct a; try discriminate. entry_of E1.
    apply andb_prop in Hc as [Hc1 Hc2].
    assert (Bw : w < next) by (eapply Be; eauto).
    destruct (He w _ E1) as [H1 | H2].
    + apply (IHt1 _ _ _ Hc1 M (conj FR (conj FS (conj FT (conj FE FD))))) with (f := f).
      * split; [| exact Br]. intros u c [Heq | Hin]; [inversion Heq; subst; exact Bw | eauto].
      * split; [| exact Hr]. intros u c [Heq | Hin]; [inversion Heq; subst; exact H1 | auto].
    + apply (IHt2 _ _ _ Hc2 M (conj FR (conj FS (conj FT (conj FE FD))))) with (f := f).
      * split; [| exact Br]. intros u c [Heq | Hin]; [inversion Heq; subst; exact Bw | eauto].
      * split; [| exact Hr]. intros u c [Heq | Hin]; [inversion Heq; subst; exact H2 | auto].
  - (* TBox *)
    destruct (nth_error es (N.to_nat n)) as [[w a]|] eqn:E1; try discriminate.
    destruct a; try discriminate.
    destruct (nth_error rs (N.to_nat n0)) as [[w' v]|] eqn:E2; try discriminate.
    apply andb_prop in Hc as [Hw Hc]. apply Nat.eqb_eq in Hw. subst w'.
    entry_of E1. entry_of E2.
    apply (IHt _ _ _ Hc M (conj FR (conj FS (conj FT (conj FE FD))))) with (f := f).
    + split; [| exact Br]. intros u c [Heq | Hin]; [| eauto].
      inversion Heq; subst. apply (Br w u E2).
    + split; [| exact Hr]. intros u c [Heq | Hin]; [| auto].
      inversion Heq; subst. apply (He w (Box c) E1). apply Hr. exact E2.
  - (* TDia *)
    destruct (nth_error es (N.to_nat n)) as [[w a]|] eqn:E1; try discriminate.
    destruct a; try discriminate. entry_of E1.
    assert (Bw : w < next) by (eapply Be; eauto).
    destruct (He w _ E1) as [x [Hx Ha]].
    apply (IHt _ _ _ Hc M (conj FR (conj FS (conj FT (conj FE FD)))))
      with (f := extend f next x).
    + split.
      * intros u c [Heq | Hin]; [inversion Heq; subst; lia |].
        apply Be in Hin. lia.
      * intros u v [Heq | Hin]; [inversion Heq; subst; lia |].
        apply Br in Hin. lia.
    + apply (sat_fresh M f es rs next w x (Some a)); auto.
      intros b Hb. inversion Hb; subst. exact Ha.
  - (* TRefl *)
    apply andb_prop in Hc as [Hc Hc']. apply andb_prop in Hc as [Hf Hlt].
    apply Nat.ltb_lt in Hlt.
    apply (IHt _ _ _ Hc' M (conj FR (conj FS (conj FT (conj FE FD))))) with (f := f).
    + split; [exact Be |]. intros u v [Heq | Hin]; [inversion Heq; subst; lia | eauto].
    + split; [exact He |]. intros u v [Heq | Hin]; [| auto].
      inversion Heq; subst. apply (FR Hf).
  - (* TSerial *)
    apply andb_prop in Hc as [Hc Hc']. apply andb_prop in Hc as [Hf Hlt].
    apply Nat.ltb_lt in Hlt.
    destruct (FD Hf (f (N.to_nat n))) as [x Hx].
    apply (IHt _ _ _ Hc' M (conj FR (conj FS (conj FT (conj FE FD)))))
      with (f := extend f next x).
    + split.
      * intros u c Hin. apply Be in Hin. lia.
      * intros u v [Heq | Hin]; [inversion Heq; subst; lia |].
        apply Br in Hin. lia.
    + apply (sat_fresh M f es rs next (N.to_nat n) x None); auto. discriminate.
  - (* TSym *)
    apply andb_prop in Hc as [Hf Hc].
    destruct (nth_error rs (N.to_nat n)) as [[w v]|] eqn:E1; try discriminate. entry_of E1.
    apply (IHt _ _ _ Hc M (conj FR (conj FS (conj FT (conj FE FD))))) with (f := f).
    + split; [exact Be |]. intros u u' [Heq | Hin]; [| eauto].
      inversion Heq; subst. destruct (Br _ _ E1). split; assumption.
    + split; [exact He |]. intros u u' [Heq | Hin]; [| auto].
      inversion Heq; subst. apply (FS Hf). apply Hr. exact E1.
  - (* TTrans *)
    apply andb_prop in Hc as [Hf Hc].
    destruct (nth_error rs (N.to_nat n)) as [[w v]|] eqn:E1; try discriminate.
    destruct (nth_error rs (N.to_nat n0)) as [[v' u]|] eqn:E2; try discriminate.
    apply andb_prop in Hc as [Hv Hc]. apply Nat.eqb_eq in Hv. subst v'.
    entry_of E1. entry_of E2.
    apply (IHt _ _ _ Hc M (conj FR (conj FS (conj FT (conj FE FD))))) with (f := f).
    + split; [exact Be |]. intros x y [Heq | Hin]; [| eauto].
      inversion Heq; subst. destruct (Br _ _ E1). destruct (Br _ _ E2). split; assumption.
    + split; [exact He |]. intros x y [Heq | Hin]; [| auto].
      inversion Heq; subst. eapply (FT Hf); [apply Hr; exact E1 | apply Hr; exact E2].
  - (* TEucl *)
    apply andb_prop in Hc as [Hf Hc].
    destruct (nth_error rs (N.to_nat n)) as [[w v]|] eqn:E1; try discriminate.
    destruct (nth_error rs (N.to_nat n0)) as [[w' u]|] eqn:E2; try discriminate.
    apply andb_prop in Hc as [Hw Hc]. apply Nat.eqb_eq in Hw. subst w'.
    entry_of E1. entry_of E2.
    apply (IHt _ _ _ Hc M (conj FR (conj FS (conj FT (conj FE FD))))) with (f := f).
    + split; [exact Be |]. intros x y [Heq | Hin]; [| eauto].
      inversion Heq; subst. destruct (Br _ _ E1). destruct (Br _ _ E2). split; assumption.
    + split; [exact He |]. intros x y [Heq | Hin]; [| auto].
      inversion Heq; subst. eapply (FE Hf); [apply Hr; exact E1 | apply Hr; exact E2].
Qed.

(** A certificate that checks proves its goal valid on every [frame_ok] frame. *)
Theorem check_goal_valid : forall a t, check_goal L a t = true ->
  forall M : model, frame_ok M -> forall w, forces M w a.
Proof.
  intros a t Hc M HF w. apply NNPP. intro Hn.
  apply (check_sound t _ _ _ Hc M HF) with (f := fun _ => w).
  - split.
    + intros u c [Heq | []]. inversion Heq; subst. lia.
    + intros u v [].
  - split.
    + intros u c [Heq | []]. inversion Heq; subst. apply (nnf_correct a M w). exact Hn.
    + intros u v [].
Qed.

End Soundness.

(** The logics' rule permissions, and that their frames permit them. *)
Definition flags_K := mkflags false false false false false.
Definition flags_T := mkflags true false false false true.
Definition flags_D := mkflags false false false false true.
Definition flags_B := mkflags true true false false true.
Definition flags_S4 := mkflags true false true false true.
Definition flags_S5 := mkflags true true true true true.
Definition flags_KD45 := mkflags false false true true true.

Ltac flags_ok := unfold frame_ok; simpl; repeat split; intros; try discriminate;
  try assumption; try (apply reflexive_serial; assumption);
  try (apply equivalence_euclidean; assumption).

Theorem tableau_K : forall a t, check_goal flags_K a t = true -> valid_K a.
Proof. intros a t H M _. apply (check_goal_valid flags_K a t H). flags_ok. Qed.

Theorem tableau_T : forall a t, check_goal flags_T a t = true -> valid_T a.
Proof. intros a t H M HF. apply (check_goal_valid flags_T a t H). flags_ok. Qed.

Theorem tableau_D : forall a t, check_goal flags_D a t = true -> valid_D a.
Proof. intros a t H M HF. apply (check_goal_valid flags_D a t H). flags_ok. Qed.

Theorem tableau_B : forall a t, check_goal flags_B a t = true -> valid_B a.
Proof.
  intros a t H M [Hr Hs]. apply (check_goal_valid flags_B a t H). flags_ok.
Qed.

Theorem tableau_S4 : forall a t, check_goal flags_S4 a t = true -> valid_S4 a.
Proof.
  intros a t H M [Hr Ht]. apply (check_goal_valid flags_S4 a t H). flags_ok.
Qed.

Theorem tableau_S5 : forall a t, check_goal flags_S5 a t = true -> valid_S5 a.
Proof.
  intros a t H M [Hr [Hs Ht]]. apply (check_goal_valid flags_S5 a t H). flags_ok.
Qed.

Theorem tableau_KD45 : forall a t, check_goal flags_KD45 a t = true -> valid_KD45 a.
Proof.
  intros a t H M [Hd [Ht He]]. apply (check_goal_valid flags_KD45 a t H). flags_ok.
Qed.
