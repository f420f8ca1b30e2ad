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
    turns them into [nat] as it goes.

    Shared sub-proofs: a certificate may prove lemmas first, each a finite set of
    hypotheses (labelled formulas and edges over labels [0 .. n-1]) closed by a tableau
    of its own, and then close any branch that contains an instance of an earlier
    lemma's hypotheses with [TUse]. [check_dag] checks each lemma once, in order, a
    lemma using only lemmas before it, so a sub-proof the search found many times is
    written and checked once. [TCut] splits a branch on any formula and its negation. *)

From Coq Require Import Bool Arith NArith List Lia Classical.
(* Certificates write lists of lemmas, hypotheses and positions. *)
Export ListNotations.
From PXL Require Export Syntax Semantics Numerals.

(** A number in a list: [P 3]. (A list's elements would otherwise be read as [nat].) *)
Inductive num : Set := P : N -> num.
Arguments P _%N.

Definition unP (p : num) : N := match p with P n => n end.

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
| TEucl : N -> N -> tab -> tab    (* euclidean: (w, v), (w, u) give (v, u) *)
| TCut : forall (w : N) (c : form) (t1 t2 : tab), tab  (* w: branch on (w, c) | (w, nneg c) *)
| TUse : forall (j : N) (lm ps : list num), tab.
    (* lemma j (0 = the last one proved before this proof), its labels mapped to
       these labels, its hypotheses found at these positions: branch closed *)

(** A lemma's hypotheses: [HForm w A], formula [A] at label [w]; [HRel w v], edge
    (w, v). [Lem n hs t]: no model of the logic satisfies [hs] (labels below [n]),
    by the tableau [t] started from [hs]. *)
Inductive hyp : Set :=
| HForm : N -> form -> hyp
| HRel : N -> N -> hyp
| HSub : N -> N -> hyp.  (* HSub w k: HForm w (subformula k of the root's formula) *)

Inductive lemma : Set := Lem : N -> list hyp -> tab -> lemma.

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
Arguments TCut _%N _ _ _.
Arguments TUse _%N (_ _)%list.
Arguments HForm _%N _.
Arguments HRel (_ _)%N.
Arguments HSub (_ _)%N.
Arguments Lem _%N _%list _.

(** Which frame rules a logic permits. *)
Record flags : Set := mkflags {
  f_refl : bool; f_sym : bool; f_trans : bool; f_eucl : bool; f_serial : bool }.

Definition entry : Set := (nat * form)%type.
Definition edge : Set := (nat * nat)%type.

(** A lemma's hypotheses as the branch they start: formulas and edges in list order
    (position 0 = the first of each kind). *)
Fixpoint hyp_entries (hs : list hyp) : list entry :=
  match hs with
  | [] => []
  | HForm w a :: hs' => (N.to_nat w, a) :: hyp_entries hs'
  | _ :: hs' => hyp_entries hs'
  end.

Fixpoint hyp_edges (hs : list hyp) : list edge :=
  match hs with
  | [] => []
  | HRel w v :: hs' => (N.to_nat w, N.to_nat v) :: hyp_edges hs'
  | _ :: hs' => hyp_edges hs'
  end.

(** The root's formula and its subformulas, in preorder: lemmas name the formulas of
    their hypotheses by number here ([HSub]) instead of writing them out. *)
Fixpoint subforms (a : form) (acc : list form) : list form :=
  a :: match a with
       | Neg b | Box b | Dia b => subforms b acc
       | Conj b c | Disj b c | Impl b c | Equiv b c => subforms b (subforms c acc)
       | _ => acc
       end.

Definition resolve (tbl : list form) (h : hyp) : option hyp :=
  match h with
  | HSub w k => option_map (HForm w) (nth_error tbl (N.to_nat k))
  | _ => Some h
  end.

Fixpoint resolve_all (tbl : list form) (hs : list hyp) : option (list hyp) :=
  match hs with
  | [] => Some []
  | h :: hs' =>
      match resolve tbl h, resolve_all tbl hs' with
      | Some h', Some hs'' => Some (h' :: hs'')
      | _, _ => None
      end
  end.

Definition label_of (lm : list num) (w : N) : option nat :=
  option_map (fun p => N.to_nat (unP p)) (nth_error lm (N.to_nat w)).

(** Each hypothesis, its labels renamed by [lm], is on the branch at its position. *)
Fixpoint hyps_found (es : list entry) (rs : list edge) (lm : list num) (hs : list hyp)
  (ps : list num) : bool :=
  match hs, ps with
  | [], [] => true
  | HForm w a :: hs', P p :: ps' =>
      match label_of lm w, nth_error es (N.to_nat p) with
      | Some x, Some (y, b) => Nat.eqb x y && form_eqb a b && hyps_found es rs lm hs' ps'
      | _, _ => false
      end
  | HRel w v :: hs', P p :: ps' =>
      match label_of lm w, label_of lm v, nth_error rs (N.to_nat p) with
      | Some x, Some y, Some (x', y') =>
          Nat.eqb x x' && Nat.eqb y y' && hyps_found es rs lm hs' ps'
      | _, _, _ => false
      end
  | _, _ => false
  end.

Fixpoint check (L : flags) (lems : list lemma) (es : list entry) (rs : list edge)
  (next : nat) (t : tab) {struct t} : bool :=
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
      | Some (w, Conj a b) => check L lems ((w, b) :: (w, a) :: es) rs next t'
      | _ => false
      end
  | TOr i t1 t2 =>
      match nth_error es (N.to_nat i) with
      | Some (w, Disj a b) =>
          check L lems ((w, a) :: es) rs next t1 && check L lems ((w, b) :: es) rs next t2
      | _ => false
      end
  | TBox i k t' =>
      match nth_error es (N.to_nat i), nth_error rs (N.to_nat k) with
      | Some (w, Box a), Some (w', v) => Nat.eqb w w' && check L lems ((v, a) :: es) rs next t'
      | _, _ => false
      end
  | TDia i t' =>
      match nth_error es (N.to_nat i) with
      | Some (w, Dia a) => check L lems ((next, a) :: es) ((w, next) :: rs) (S next) t'
      | _ => false
      end
  | TRefl w t' =>
      f_refl L && Nat.ltb (N.to_nat w) next &&
      check L lems es ((N.to_nat w, N.to_nat w) :: rs) next t'
  | TSerial w t' =>
      f_serial L && Nat.ltb (N.to_nat w) next &&
      check L lems es ((N.to_nat w, next) :: rs) (S next) t'
  | TSym k t' =>
      f_sym L &&
      match nth_error rs (N.to_nat k) with
      | Some (w, v) => check L lems es ((v, w) :: rs) next t'
      | None => false
      end
  | TTrans k1 k2 t' =>
      f_trans L &&
      match nth_error rs (N.to_nat k1), nth_error rs (N.to_nat k2) with
      | Some (w, v), Some (v', u) => Nat.eqb v v' && check L lems es ((w, u) :: rs) next t'
      | _, _ => false
      end
  | TEucl k1 k2 t' =>
      f_eucl L &&
      match nth_error rs (N.to_nat k1), nth_error rs (N.to_nat k2) with
      | Some (w, v), Some (w', u) => Nat.eqb w w' && check L lems es ((v, u) :: rs) next t'
      | _, _ => false
      end
  | TCut w a t1 t2 =>
      Nat.ltb (N.to_nat w) next &&
      check L lems ((N.to_nat w, a) :: es) rs next t1 &&
      check L lems ((N.to_nat w, nneg a) :: es) rs next t2
  | TUse j lm ps =>
      match nth_error lems (N.to_nat j) with
      | Some (Lem _ hs _) => hyps_found es rs lm hs ps
      | None => false
      end
  end.

(** The root branch of a goal: its negation, in NNF, at world 0. *)
Definition check_goal (L : flags) (a : form) (t : tab) : bool :=
  check L [] [(0, nneg a)] [] 1 t.

Definition labels_below (n : nat) (hs : list hyp) : bool :=
  forallb (fun h => match h with
                    | HForm w _ => Nat.ltb (N.to_nat w) n
                    | HRel w v => Nat.ltb (N.to_nat w) n && Nat.ltb (N.to_nat v) n
                    | HSub _ _ => false
                    end) hs.

(** Check lemmas in order, each against the ones before it (newest first in [done]), their
    [HSub] hypotheses resolved in [tbl]. *)
Fixpoint check_lemmas (L : flags) (tbl : list form) (done : list lemma) (ls : list lemma)
  : option (list lemma) :=
  match ls with
  | [] => Some done
  | Lem n hs t :: ls' =>
      match resolve_all tbl hs with
      | Some hs' =>
          if labels_below (N.to_nat n) hs' &&
             check L done (hyp_entries hs') (hyp_edges hs') (N.to_nat n) t
          then check_lemmas L tbl (Lem n hs' t :: done) ls'
          else None
      | None => None
      end
  end.

(** A certificate with shared sub-proofs: lemmas [ls], then the goal's tableau [t]. *)
Definition check_dag (L : flags) (a : form) (ls : list lemma) (t : tab) : bool :=
  match check_lemmas L (subforms (nneg a) []) [] ls with
  | Some done => check L done [(0, nneg a)] [] 1 t
  | None => false
  end.

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

(** What a checked lemma says: no model of the logic satisfies its hypotheses. *)
Definition lemma_holds (M : model) (l : lemma) : Prop :=
  match l with Lem _ hs _ => forall f, ~ sat M f (hyp_entries hs) (hyp_edges hs) end.

(** The renaming [lm] of a lemma's labels to the branch's, as worlds. *)
Definition renamed {M : model} (f : nat -> world M) (lm : list num) : nat -> world M :=
  fun l => f (match nth_error lm l with Some x => N.to_nat (unP x) | None => 0 end).

Lemma hyps_found_sat : forall (M : model) f es rs lm hs ps,
  hyps_found es rs lm hs ps = true -> sat M f es rs ->
  sat M (renamed f lm) (hyp_entries hs) (hyp_edges hs).
Proof.
  intros M f es rs lm hs. induction hs as [| h hs IH]; intros ps Hc HS;
    pose proof HS as [He Hr].
  - split; intros ? ? [].
  - destruct h as [w a | w v | w k]; destruct ps as [| [p] ps]; simpl in Hc; try discriminate.
    + unfold label_of in Hc.
      destruct (nth_error lm (N.to_nat w)) as [x|] eqn:Ew; try discriminate.
      destruct (nth_error es (N.to_nat p)) as [[y b]|] eqn:Ep; try discriminate.
      simpl in Hc. apply andb_prop in Hc as [Hc Hrest]. apply andb_prop in Hc as [Hxy Hab].
      apply Nat.eqb_eq in Hxy. apply form_eqb_eq in Hab. subst.
      destruct (IH ps Hrest HS) as [IHe IHr]. split; [| exact IHr].
      intros u c [Heq | Hin]; [| auto].
      inversion Heq; subst. unfold renamed. rewrite Ew.
      apply He. apply nth_error_In with (N.to_nat p). exact Ep.
    + unfold label_of in Hc.
      destruct (nth_error lm (N.to_nat w)) as [x|] eqn:Ew; try discriminate.
      destruct (nth_error lm (N.to_nat v)) as [y|] eqn:Ev; try discriminate.
      destruct (nth_error rs (N.to_nat p)) as [[x' y']|] eqn:Ep; try discriminate.
      simpl in Hc. apply andb_prop in Hc as [Hc Hrest]. apply andb_prop in Hc as [Hx Hy].
      apply Nat.eqb_eq in Hx. apply Nat.eqb_eq in Hy. subst.
      destruct (IH ps Hrest HS) as [IHe IHr]. split; [exact IHe |].
      intros u u' [Heq | Hin]; [| auto].
      inversion Heq; subst. unfold renamed. rewrite Ew, Ev.
      apply Hr. apply nth_error_In with (N.to_nat p). exact Ep.
Qed.

Theorem check_sound : forall (M : model) lems, frame_ok M -> Forall (lemma_holds M) lems ->
  forall t es rs next, check L lems es rs next t = true ->
  bounded es rs next -> forall f, ~ sat M f es rs.
Proof.
  intros M lems HF HL. destruct HF as [FR [FS [FT [FE FD]]]].
  induction t; intros es rs next Hc HB f HS; simpl in Hc;
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
    apply (IHt _ _ _ Hc) with (f := f).
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
    + apply (IHt1 _ _ _ Hc1) with (f := f).
      * split; [| exact Br]. intros u c [Heq | Hin]; [inversion Heq; subst; exact Bw | eauto].
      * split; [| exact Hr]. intros u c [Heq | Hin]; [inversion Heq; subst; exact H1 | auto].
    + apply (IHt2 _ _ _ Hc2) with (f := f).
      * split; [| exact Br]. intros u c [Heq | Hin]; [inversion Heq; subst; exact Bw | eauto].
      * split; [| exact Hr]. intros u c [Heq | Hin]; [inversion Heq; subst; exact H2 | auto].
  - (* TBox *)
    destruct (nth_error es (N.to_nat n)) as [[w a]|] eqn:E1; try discriminate.
    destruct a; try discriminate.
    destruct (nth_error rs (N.to_nat n0)) as [[w' v]|] eqn:E2; try discriminate.
    apply andb_prop in Hc as [Hw Hc]. apply Nat.eqb_eq in Hw. subst w'.
    entry_of E1. entry_of E2.
    apply (IHt _ _ _ Hc) with (f := f).
    + split; [| exact Br]. intros u c [Heq | Hin]; [| eauto].
      inversion Heq; subst. apply (Br w u E2).
    + split; [| exact Hr]. intros u c [Heq | Hin]; [| auto].
      inversion Heq; subst. apply (He w (Box c) E1). apply Hr. exact E2.
  - (* TDia *)
    destruct (nth_error es (N.to_nat n)) as [[w a]|] eqn:E1; try discriminate.
    destruct a; try discriminate. entry_of E1.
    assert (Bw : w < next) by (eapply Be; eauto).
    destruct (He w _ E1) as [x [Hx Ha]].
    apply (IHt _ _ _ Hc)
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
    apply (IHt _ _ _ Hc') with (f := f).
    + split; [exact Be |]. intros u v [Heq | Hin]; [inversion Heq; subst; lia | eauto].
    + split; [exact He |]. intros u v [Heq | Hin]; [| auto].
      inversion Heq; subst. apply (FR Hf).
  - (* TSerial *)
    apply andb_prop in Hc as [Hc Hc']. apply andb_prop in Hc as [Hf Hlt].
    apply Nat.ltb_lt in Hlt.
    destruct (FD Hf (f (N.to_nat n))) as [x Hx].
    apply (IHt _ _ _ Hc')
      with (f := extend f next x).
    + split.
      * intros u c Hin. apply Be in Hin. lia.
      * intros u v [Heq | Hin]; [inversion Heq; subst; lia |].
        apply Br in Hin. lia.
    + apply (sat_fresh M f es rs next (N.to_nat n) x None); auto. discriminate.
  - (* TSym *)
    apply andb_prop in Hc as [Hf Hc].
    destruct (nth_error rs (N.to_nat n)) as [[w v]|] eqn:E1; try discriminate. entry_of E1.
    apply (IHt _ _ _ Hc) with (f := f).
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
    apply (IHt _ _ _ Hc) with (f := f).
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
    apply (IHt _ _ _ Hc) with (f := f).
    + split; [exact Be |]. intros x y [Heq | Hin]; [| eauto].
      inversion Heq; subst. destruct (Br _ _ E1). destruct (Br _ _ E2). split; assumption.
    + split; [exact He |]. intros x y [Heq | Hin]; [| auto].
      inversion Heq; subst. eapply (FE Hf); [apply Hr; exact E1 | apply Hr; exact E2].
  - (* TCut *)
    apply andb_prop in Hc as [Hc Hc2]. apply andb_prop in Hc as [Hlt Hc1].
    apply Nat.ltb_lt in Hlt.
    destruct (classic (forces M (f (N.to_nat w)) c)) as [Hy | Hn].
    + apply (IHt1 _ _ _ Hc1) with (f := f).
      * split; [| exact Br]. intros u d [Heq | Hin]; [inversion Heq; subst; exact Hlt | eauto].
      * split; [| exact Hr]. intros u d [Heq | Hin]; [inversion Heq; subst; exact Hy | auto].
    + apply (IHt2 _ _ _ Hc2) with (f := f).
      * split; [| exact Br]. intros u d [Heq | Hin]; [inversion Heq; subst; exact Hlt | eauto].
      * split; [| exact Hr]. intros u d [Heq | Hin]; [| auto].
        inversion Heq; subst. apply (nnf_correct c M). exact Hn.
  - (* TUse *)
    destruct (nth_error lems (N.to_nat j)) as [[n hs t]|] eqn:E1; try discriminate.
    apply nth_error_In in E1. rewrite Forall_forall in HL.
    apply (HL _ E1 (renamed f lm)). eapply hyps_found_sat; eassumption.
Qed.

Lemma labels_below_bounded : forall n hs,
  labels_below n hs = true -> bounded (hyp_entries hs) (hyp_edges hs) n.
Proof.
  intros n hs. induction hs as [| h hs IH]; intro Hb.
  - split; intros ? ? [].
  - simpl in Hb. apply andb_prop in Hb as [Hh Hb]. destruct (IH Hb) as [Be Br].
    destruct h as [w a | w v | w k]; simpl; try discriminate.
    + apply Nat.ltb_lt in Hh. split; [| exact Br].
      intros u c [Heq | Hin]; [inversion Heq; subst; exact Hh | eauto].
    + apply andb_prop in Hh as [Hw Hv]. apply Nat.ltb_lt in Hw. apply Nat.ltb_lt in Hv.
      split; [exact Be |]. intros u u' [Heq | Hin]; [inversion Heq; subst; lia | eauto].
Qed.

Lemma check_lemmas_sound : forall (M : model) tbl, frame_ok M -> forall ls done out,
  Forall (lemma_holds M) done -> check_lemmas L tbl done ls = Some out ->
  Forall (lemma_holds M) out.
Proof.
  intros M tbl HF ls. induction ls as [| [n hs0 t] ls IH]; intros done out HD Hc; simpl in Hc.
  - inversion Hc; subst. exact HD.
  - destruct (resolve_all tbl hs0) as [hs|]; try discriminate.
    destruct (labels_below (N.to_nat n) hs &&
              check L done (hyp_entries hs) (hyp_edges hs) (N.to_nat n) t) eqn:E;
      try discriminate.
    apply andb_prop in E as [Hb Hk].
    apply (IH (Lem n hs t :: done) out); [| exact Hc].
    constructor; [| exact HD]. simpl. intro f.
    exact (check_sound M done HF HD t _ _ _ Hk (labels_below_bounded _ _ Hb) f).
Qed.

(** A certificate that checks proves its goal valid on every [frame_ok] frame. *)
Theorem check_goal_valid : forall a t, check_goal L a t = true ->
  forall M : model, frame_ok M -> forall w, forces M w a.
Proof.
  intros a t Hc M HF w. apply NNPP. intro Hn.
  apply (check_sound M [] HF (Forall_nil _) t _ _ _ Hc) with (f := fun _ => w).
  - split.
    + intros u c [Heq | []]. inversion Heq; subst. lia.
    + intros u v [].
  - split.
    + intros u c [Heq | []]. inversion Heq; subst. apply (nnf_correct a M w). exact Hn.
    + intros u v [].
Qed.

(** The same for a certificate with lemmas: each lemma holds, so the goal's tableau
    may use them. *)
Theorem check_dag_valid : forall a ls t, check_dag L a ls t = true ->
  forall M : model, frame_ok M -> forall w, forces M w a.
Proof.
  intros a ls t Hc M HF w. unfold check_dag in Hc.
  destruct (check_lemmas L (subforms (nneg a) []) [] ls) as [done|] eqn:E; try discriminate.
  pose proof (check_lemmas_sound M _ HF ls [] done (Forall_nil _) E) as HL.
  apply NNPP. intro Hn.
  apply (check_sound M done HF HL t _ _ _ Hc) with (f := fun _ => w).
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

(** Certificates with shared sub-proofs (lemmas), one lemma per logic likewise. *)

Theorem dag_K : forall a ls t, check_dag flags_K a ls t = true -> valid_K a.
Proof. intros a ls t H M _. apply (check_dag_valid flags_K a ls t H). flags_ok. Qed.

Theorem dag_T : forall a ls t, check_dag flags_T a ls t = true -> valid_T a.
Proof. intros a ls t H M HF. apply (check_dag_valid flags_T a ls t H). flags_ok. Qed.

Theorem dag_D : forall a ls t, check_dag flags_D a ls t = true -> valid_D a.
Proof. intros a ls t H M HF. apply (check_dag_valid flags_D a ls t H). flags_ok. Qed.

Theorem dag_B : forall a ls t, check_dag flags_B a ls t = true -> valid_B a.
Proof. intros a ls t H M [Hr Hs]. apply (check_dag_valid flags_B a ls t H). flags_ok. Qed.

Theorem dag_S4 : forall a ls t, check_dag flags_S4 a ls t = true -> valid_S4 a.
Proof. intros a ls t H M [Hr Ht]. apply (check_dag_valid flags_S4 a ls t H). flags_ok. Qed.

Theorem dag_S5 : forall a ls t, check_dag flags_S5 a ls t = true -> valid_S5 a.
Proof. intros a ls t H M [Hr [Hs Ht]]. apply (check_dag_valid flags_S5 a ls t H). flags_ok. Qed.

Theorem dag_KD45 : forall a ls t, check_dag flags_KD45 a ls t = true -> valid_KD45 a.
Proof. intros a ls t H M [Hd [Ht He]]. apply (check_dag_valid flags_KD45 a ls t H). flags_ok. Qed.
