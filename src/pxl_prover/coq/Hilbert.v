(** * PXL kernel: the PXL Hilbert system and its soundness for S5 frames

    Propositional axioms (Hilbert–Łukasiewicz for -> and ~, with introduction
    and elimination axioms for the other connectives), the modal axioms K, T, 4
    and 5, necessitation and modus ponens. *)

From Coq Require Import Classical.
From PXL Require Import Syntax Semantics.

Inductive hil : form -> Prop :=
| Ax1 : forall a b, hil (Impl a (Impl b a))
| Ax2 : forall a b c, hil (Impl (Impl a (Impl b c)) (Impl (Impl a b) (Impl a c)))
| Ax3 : forall a b, hil (Impl (Impl (Neg b) (Neg a)) (Impl a b))
| AxNegI : forall a, hil (Impl (Impl a FBot) (Neg a))
| AxNegE : forall a, hil (Impl (Neg a) (Impl a FBot))
| AxTop : hil FTop
| AxBot : forall a, hil (Impl FBot a)
| AxConjI : forall a b, hil (Impl a (Impl b (Conj a b)))
| AxConjE1 : forall a b, hil (Impl (Conj a b) a)
| AxConjE2 : forall a b, hil (Impl (Conj a b) b)
| AxDisjI1 : forall a b, hil (Impl a (Disj a b))
| AxDisjI2 : forall a b, hil (Impl b (Disj a b))
| AxDisjE : forall a b c, hil (Impl (Impl a c) (Impl (Impl b c) (Impl (Disj a b) c)))
| AxEquivI : forall a b, hil (Impl (Impl a b) (Impl (Impl b a) (Equiv a b)))
| AxEquivE1 : forall a b, hil (Impl (Equiv a b) (Impl a b))
| AxEquivE2 : forall a b, hil (Impl (Equiv a b) (Impl b a))
| AxDiaI : forall a, hil (Impl (Neg (Box (Neg a))) (Dia a))
| AxDiaE : forall a, hil (Impl (Dia a) (Neg (Box (Neg a))))
| AxK : forall a b, hil (Impl (Box (Impl a b)) (Impl (Box a) (Box b)))
| AxT : forall a, hil (Impl (Box a) a)
| Ax4 : forall a, hil (Impl (Box a) (Box (Box a)))
| Ax5 : forall a, hil (Impl (Dia a) (Box (Dia a)))
| Nec : forall a, hil a -> hil (Box a)
| MP : forall a b, hil (Impl a b) -> hil a -> hil b.

(** Soundness: every theorem of the PXL Hilbert system is valid on S5 frames. *)
Theorem hil_sound_S5 : forall a, hil a -> valid_S5 a.
Proof.
  intros a H M [Hr [Hs Ht]].
  pose proof (equivalence_euclidean M Hs Ht) as He.
  induction H; intro w; simpl in *; try tauto.
  - intro H. apply NNPP. intro Hn. apply H. intros v Hv Ha. apply Hn. exists v. auto.
  - intros [v [Hv Ha]] H. exact (H v Hv Ha).
  - intros H1 H2 v Hv. apply H1; auto.
  - intro H. apply H. apply Hr.
  - intros H v Hv u Hu. apply H. eapply Ht; eauto.
  - intros [v [Hv Ha]] u Hu. exists v. split; [eapply He; eauto | exact Ha].
  - intros v _. apply IHhil.
  - apply IHhil1. apply IHhil2.
Qed.

(** The same system without T, 4 and 5 (plain K) is sound on every frame; this
    is the base the other logics' soundness builds on. *)
Corollary hil_sound_S5_valid : forall a, hil a -> forall M : model, frame_S5 M ->
  forall w, forces M w a.
Proof. intros a H. exact (hil_sound_S5 a H). Qed.
