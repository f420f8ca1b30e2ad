"""Global mode (B, S5, KD45): boxes reach back (by Sym or Eucl), so a successor can
change its predecessor and one branch holds all worlds. A B world's depth is bounded by
the modal depth; S5 and KD45 worlds form one cluster, where a diamond already witnessed
needs no new world."""

from __future__ import annotations

from pxl_prover.countermodel import Countermodel
from pxl_prover.search.core import Branch, Open, Shared
from pxl_prover.search.formulas import ATOM
from pxl_prover.search.proofs import ROOT_LABEL, S_DIA, S_EUCL, S_SERIAL, S_SYM, S_TRANS


class GlobalBranch(Branch):
    """A branch holding every world as a tree (`parent`, `children`), creating a world
    for each diamond not yet fulfilled and applying to it every box that reaches it."""

    def __init__(self, shared: Shared, root: int, entries: dict[int, int]) -> None:
        super().__init__(shared, root, entries)
        self.parent: dict[int, int] = {}
        self.children: dict[int, list[int]] = {root: []}

    # -- the family's rules ------------------------------------------------------------

    def predecessors(self, y: int) -> list[int]:
        """Worlds whose boxes reach a newly created world `y` (other than `y` itself)."""
        raise NotImplementedError

    def fulfilled(self, x: int, content: int) -> bool:
        """Is a diamond at `x` with this content already satisfied?"""
        raise NotImplementedError

    def edges(self) -> set[tuple[int, int]]:
        """The countermodel's relation over this branch's worlds (-1: an extra, empty
        world)."""
        raise NotImplementedError

    # -- worlds ------------------------------------------------------------------------

    def create_world(self, x: int, kind: int, e: int, content: int) -> None:
        y, r = self.fresh(), self.fresh()
        if kind == S_DIA:
            e1 = self.fresh()
            self.step(S_DIA, (e,), (y, r, e1))
        else:
            self.step(S_SERIAL, (x,), (y, r))
        self.worlds.append(y)
        self.trail.append(self.worlds)
        self.parent[y] = x
        self.children[y] = []
        self.ents[y] = {}
        self.boxes[y] = []
        self.children[x].append(y)
        self.trail.append(self.children[x])
        self.rel[(x, y)] = r
        self.trail.append((self.rel, (x, y)))
        if kind == S_DIA:
            self.add(y, content, e1)
        for w in self.predecessors(y):
            for fid, eb, _ in list(self.boxes[w]):
                if self.clash is not None:
                    return
                self.apply_box(w, fid, eb, -1, y)

    def next_diamond(self) -> bool:
        while self.dia_ptr < len(self.dias):
            x, fid, e = self.dias[self.dia_ptr]
            self.dia_ptr += 1
            content = self.fs.a[fid]
            if not self.fulfilled(x, content):
                self.create_world(x, S_DIA, e, content)
                return True
        logic = self.logic
        if logic.serial and not logic.reflexive and len(self.worlds) == 1 and self.boxes[self.root]:
            self.create_world(self.root, S_SERIAL, -1, -1)  # KD45: the root needs a successor
            return True
        return False

    # -- countermodels -----------------------------------------------------------------

    def saturated(self) -> Open:
        return Open(self.countermodel(), frozenset())

    def countermodel(self) -> Countermodel:
        worlds = list(self.worlds)
        names = {w: f"w{i}" for i, w in enumerate(worlds)}
        edges = self.edges()
        extra: list[str] = []
        if any(-1 in pair for pair in edges):
            extra.append(f"w{len(worlds)}")
            names[-1] = extra[0]
        fs = self.fs
        valuation = {
            names[w]: tuple(sorted(fs.name[f] for f in self.ents[w] if fs.kind[f] == ATOM))
            for w in worlds
        }
        for name in extra:
            valuation[name] = ()
        all_names = tuple(names[w] for w in worlds) + tuple(extra)
        relation = tuple(sorted((names[u], names[v]) for u, v in edges))
        return Countermodel(all_names, relation, valuation, names[ROOT_LABEL])


class SymmetricBranch(GlobalBranch):
    """B: a box at a world reaches itself, its children and its parent (Refl, Sym)."""

    def successors(self, x: int) -> list[int]:
        out = [*self.children[x], x]
        if x in self.parent:
            out.append(self.parent[x])
        return out

    def predecessors(self, y: int) -> list[int]:
        return [self.parent[y]]

    def frame_step(self, x: int, y: int) -> int:
        if self.parent.get(x) == y:
            r = self.fresh()
            self.step(S_SYM, (self.rel[(y, x)],), (r,))
            return r
        return super().frame_step(x, y)

    def fulfilled(self, x: int, content: int) -> bool:
        return content in self.ents[x]  # reflexive

    def edges(self) -> set[tuple[int, int]]:
        """The tree, reflexive and symmetric."""
        edges: set[tuple[int, int]] = set()
        for y in self.worlds[1:]:
            edges.update({(self.parent[y], y), (y, self.parent[y])})
        edges.update((w, w) for w in self.worlds)
        return edges


class ClusterBranch(GlobalBranch):
    """S5 and KD45: every world but KD45's root is in one cluster, which a box at any
    world reaches (by Trans from the root, or Eucl between two of the root's
    successors); the KD45 root only sees into it."""

    def __init__(self, shared: Shared, root: int, entries: dict[int, int]) -> None:
        super().__init__(shared, root, entries)
        self.kd45 = not shared.logic.reflexive

    def is_cluster(self, y: int) -> bool:
        return not (self.kd45 and y == ROOT_LABEL)

    def successors(self, x: int) -> list[int]:
        return [y for y in self.worlds if self.is_cluster(y)]

    def predecessors(self, y: int) -> list[int]:
        return [x for x in self.worlds if x != y]

    def frame_step(self, x: int, y: int) -> int:
        if x == y and self.logic.reflexive:
            return super().frame_step(x, y)
        if x == ROOT_LABEL:
            p = self.parent[y]
            r1 = self.derive(x, p)
            r = self.fresh()
            self.step(S_TRANS, (r1, self.rel[(p, y)]), (r,))
        else:
            r1 = self.derive(ROOT_LABEL, x)
            r2 = self.derive(ROOT_LABEL, y)
            r = self.fresh()
            self.step(S_EUCL, (r1, r2), (r,))
        return r

    def fulfilled(self, x: int, content: int) -> bool:
        return any(self.is_cluster(y) and content in self.ents[y] for y in self.worlds)

    def edges(self) -> set[tuple[int, int]]:
        """The cluster, all to all (an extra empty world if KD45's is empty), and in
        KD45 the root into it."""
        cluster = [y for y in self.worlds if self.is_cluster(y)] or [-1]
        edges = {(u, v) for u in cluster for v in cluster}
        if self.kd45:
            edges.update((ROOT_LABEL, v) for v in cluster)
        return edges
