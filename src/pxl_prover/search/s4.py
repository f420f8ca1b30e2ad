"""S4 in tree mode: boxes are inherited, and diamonds may loop back to an ancestor.

A successor does not start with the boxes' contents but with the boxes themselves, as
handles: the box's entry and a relation reaching the new world, built by Trans from the
relation that brought the box here. Since every box is inherited, the boxes only grow
down a path; a diamond whose content an ancestor with the same boxes already holds is
satisfied by looping back to that ancestor (the relation is reflexive and transitive),
so the path is finite. A model found through such a loop is valid on this path only
(`Open.external` names the ancestors it loops to) and is not cached.
"""

from __future__ import annotations

from pxl_prover.search.proofs import S_TRANS
from pxl_prover.search.tree import Core, Handles, TreeBranch, TreeShared, handle_key


class S4Branch(TreeBranch):
    """A tree-mode branch whose world inherits its ancestors' boxes as handles and knows
    its ancestors (`history`, oldest first) for the loop check.

    It does not probe (`try_children`): its successors' results that loop back to an
    ancestor are not cached, so an abandoned probe's work is lost (measured: LWB
    s4_ipc_p and s4_md lost more than s4_branch_p won)."""

    probes = False

    def __init__(
        self,
        shared: TreeShared,
        root: int,
        entries: dict[int, int],
        handles: Handles | None = None,
        history: tuple[S4Branch, ...] = (),
    ) -> None:
        super().__init__(shared, root, entries)
        self.history = history
        for fid, (eb, rb) in (handles or {}).items():
            self.boxes[root].append((fid, eb, rb))
            self.apply_box(root, fid, eb, rb, root)

    def passed_down(self, boxes: list[tuple[int, int, int]]) -> frozenset[int]:
        """The items these boxes give every successor: the boxes themselves, as handles."""
        return frozenset(handle_key(fid) for fid, _, _ in boxes)

    def bind_boxes(self, core: Core, r: int, entries: dict[int, int], handles: Handles) -> None:
        """Give the successor reached by relation `r` the handles `core` closes on: the
        box's entry, with `r` itself for a box of this world, or else the relation that
        brought the box here composed with `r` by Trans."""
        for fid, eb, rb in self.boxes[self.root]:
            if handle_key(fid) in core:
                if rb < 0:
                    handles[fid] = (eb, r)
                else:
                    r2 = self.fresh()
                    self.step(S_TRANS, (rb, r), (r2,))
                    handles[fid] = (eb, r2)

    def loop_target(self, content: int) -> TreeBranch | None:
        """This world if it satisfies a diamond with this content, else the nearest
        ancestor that does, if every world between has the same boxes."""
        target = super().loop_target(content)
        if target is not None or not self.logic.reflexive:
            return target
        boxes = self.box_fids()
        if content in boxes:
            return self
        for u in reversed(self.history):
            if u.box_fids() != boxes:
                return None
            if content in u.ents[u.root] or content in boxes:
                return u
        return None

    def successor(self, label: int, entries: dict[int, int], handles: Handles) -> S4Branch:
        return S4Branch(self.shared, label, entries, handles, (*self.history, self))
