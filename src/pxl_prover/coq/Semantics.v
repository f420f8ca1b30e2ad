(** * PXL kernel: Kripke semantics and the logics

    Validity in a logic is truth at every world of every model whose frame
    satisfies the logic's conditions (docs/verdicts.md). The metatheory is classical:
    [Classical_Prop.classic] is the kernel's one declared axiom (coq/README.md). *)

From Coq Require Import Classical NArith.
From PXL Require Import Syntax.

Record frame : Type := { world : Type; rel : world -> world -> Prop }.

Record model : Type := { frm :> frame; val : world frm -> N -> Prop }.

Fixpoint forces (M : model) (w : world M) (a : form) {struct a} : Prop :=
  match a with
  | Var p => val M w p
  | FTop => True
  | FBot => False
  | Neg b => ~ forces M w b
  | Conj b c => forces M w b /\ forces M w c
  | Disj b c => forces M w b \/ forces M w c
  | Impl b c => forces M w b -> forces M w c
  | Equiv b c => (forces M w b <-> forces M w c)
  | Box b => forall v, rel M w v -> forces M v b
  | Dia b => exists v, rel M w v /\ forces M v b
  end.

Definition reflexive (F : frame) : Prop := forall w, rel F w w.
Definition symmetric (F : frame) : Prop := forall w v, rel F w v -> rel F v w.
Definition transitive (F : frame) : Prop :=
  forall w v u, rel F w v -> rel F v u -> rel F w u.
Definition euclidean (F : frame) : Prop :=
  forall w v u, rel F w v -> rel F w u -> rel F v u.
Definition serial (F : frame) : Prop := forall w, exists v, rel F w v.

Definition frame_K (F : frame) : Prop := True.
Definition frame_T (F : frame) : Prop := reflexive F.
Definition frame_D (F : frame) : Prop := serial F.
Definition frame_B (F : frame) : Prop := reflexive F /\ symmetric F.
Definition frame_S4 (F : frame) : Prop := reflexive F /\ transitive F.
Definition frame_S5 (F : frame) : Prop := reflexive F /\ symmetric F /\ transitive F.
Definition frame_KD45 (F : frame) : Prop := serial F /\ transitive F /\ euclidean F.

Definition valid_on (P : frame -> Prop) (a : form) : Prop :=
  forall M : model, P M -> forall w : world M, forces M w a.

Definition valid_K := valid_on frame_K.
Definition valid_T := valid_on frame_T.
Definition valid_D := valid_on frame_D.
Definition valid_B := valid_on frame_B.
Definition valid_S4 := valid_on frame_S4.
Definition valid_S5 := valid_on frame_S5.
Definition valid_KD45 := valid_on frame_KD45.

(** Every frame class of a stronger logic lies inside the weaker one's, so
    validity is inherited upwards. *)
Lemma valid_on_mono : forall (P Q : frame -> Prop) a,
  (forall F, Q F -> P F) -> valid_on P a -> valid_on Q a.
Proof. unfold valid_on. eauto. Qed.

Lemma reflexive_serial : forall F, reflexive F -> serial F.
Proof. intros F H w. exists w. apply H. Qed.

Lemma equivalence_euclidean : forall F, symmetric F -> transitive F -> euclidean F.
Proof. intros F Hs Ht w v u Hwv Hwu. eapply Ht; [apply Hs; exact Hwv | exact Hwu]. Qed.

Theorem K_D : forall a, valid_K a -> valid_D a.
Proof. intro a. apply valid_on_mono. intros; exact I. Qed.
Theorem D_T : forall a, valid_D a -> valid_T a.
Proof. intro a. apply valid_on_mono. apply reflexive_serial. Qed.
Theorem T_B : forall a, valid_T a -> valid_B a.
Proof. intro a. apply valid_on_mono. intros F [H _]. exact H. Qed.
Theorem T_S4 : forall a, valid_T a -> valid_S4 a.
Proof. intro a. apply valid_on_mono. intros F [H _]. exact H. Qed.
Theorem B_S5 : forall a, valid_B a -> valid_S5 a.
Proof. intro a. apply valid_on_mono. intros F [Hr [Hs _]]. split; assumption. Qed.
Theorem S4_S5 : forall a, valid_S4 a -> valid_S5 a.
Proof. intro a. apply valid_on_mono. intros F [Hr [_ Ht]]. split; assumption. Qed.
Theorem D_KD45 : forall a, valid_D a -> valid_KD45 a.
Proof. intro a. apply valid_on_mono. intros F [H _]. exact H. Qed.
Theorem KD45_S5 : forall a, valid_KD45 a -> valid_S5 a.
Proof.
  intro a. apply valid_on_mono. intros F [Hr [Hs Ht]].
  split; [apply reflexive_serial; exact Hr | split; [exact Ht |]].
  apply equivalence_euclidean; assumption.
Qed.
Theorem K_S5 : forall a, valid_K a -> valid_S5 a.
Proof. intros a H. apply S4_S5, T_S4, D_T, K_D, H. Qed.

(** The negation normal form is faithful (classically). *)
Lemma nnf_correct : forall a (M : model) (w : world M),
  (forces M w a -> forces M w (nnf a)) /\ (~ forces M w a -> forces M w (nneg a)).
Proof.
  induction a; intros M w; simpl.
  - split; auto.
  - split; auto.
  - split; auto.
  - destruct (IHa M w) as [H1 H2]. split; auto.
    intro H. apply H1. apply NNPP. exact H.
  - destruct (IHa1 M w) as [H1 H2]; destruct (IHa2 M w) as [H3 H4]. split.
    + intros [Hb Hc]. auto.
    + intro H. destruct (classic (forces M w a1)) as [Hb | Hb]; [right | left]; auto.
  - destruct (IHa1 M w) as [H1 H2]; destruct (IHa2 M w) as [H3 H4]. split.
    + intros [Hb | Hc]; auto.
    + intro H. split; auto.
  - destruct (IHa1 M w) as [H1 H2]; destruct (IHa2 M w) as [H3 H4]. split.
    + intro H. destruct (classic (forces M w a1)) as [Hb | Hb]; [right | left]; auto.
    + intro H. destruct (classic (forces M w a1)) as [Hb | Hb].
      * split; auto.
      * exfalso. apply H. intro. contradiction.
  - destruct (IHa1 M w) as [H1 H2]; destruct (IHa2 M w) as [H3 H4]. split.
    + intro H. destruct (classic (forces M w a1)) as [Hb | Hb].
      * split; [right; apply H3; apply H; exact Hb | left; auto].
      * split; [left; auto | right; apply H4; intro Hc; apply Hb; apply H; exact Hc].
    + intro H. destruct (classic (forces M w a1)) as [Hb | Hb].
      * left. split; [auto | apply H4; intro Hc; apply H; split; auto].
      * right. split; [auto | apply H3; apply NNPP; intro Hc; apply H; split; tauto].
  - split.
    + intros H v Hv. apply (IHa M v). auto.
    + intro H. apply not_all_ex_not in H. destruct H as [v Hv].
      apply imply_to_and in Hv. destruct Hv as [Hr Hn].
      exists v. split; [exact Hr | apply (IHa M v); exact Hn].
  - split.
    + intros [v [Hr Hv]]. exists v. split; [exact Hr | apply (IHa M v); exact Hv].
    + intros H v Hr. apply (IHa M v). intro Hv. apply H. exists v. auto.
Qed.
