/* PXL playground: sends the goal to the prover and shows what came back.
 *
 * Plain browser JavaScript, no build step and no external requests. The prove
 * endpoint comes from <meta name="pxl-prove-url">: `/prove` when the server runs
 * without HMAC, a server-side playground path when it runs with HMAC (the page
 * never holds a secret).
 */
(function () {
  "use strict";

  const SVG_NS = "http://www.w3.org/2000/svg";
  const FRAME_CONDITIONS = {
    K: "any frame",
    T: "reflexive frames",
    D: "serial frames",
    B: "reflexive and symmetric frames",
    S4: "reflexive and transitive frames",
    S5: "frames whose relation is an equivalence",
    KD45: "serial, transitive and Euclidean frames",
  };
  const LIMIT_REASONS = {
    time: "the time limit was reached before the search finished",
    nodes: "the search explored its whole node budget without an answer",
    memory: "the memory limit was reached",
  };

  const $ = (id) => document.getElementById(id);
  const goalBox = $("goal");
  const mirror = $("goal-mirror");
  const logicSelect = $("logic");
  const proveUrl = (document.querySelector('meta[name="pxl-prove-url"]') || {}).content || "/prove";

  /* ---------- small DOM helpers ---------- */

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function svg(tag, attrs, text) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function show(id, visible) {
    $(id).hidden = !visible;
  }

  /* ---------- goal input: symbols, examples, error marking ---------- */

  function insertAtCursor(text) {
    const start = goalBox.selectionStart;
    const end = goalBox.selectionEnd;
    goalBox.setRangeText(text, start, end, "end");
    goalBox.focus();
    clearMark();
  }

  /* Split `text` around code point `position` (the server counts code points). */
  function splitAt(text, position) {
    const chars = Array.from(text);
    const pos = Math.max(0, Math.min(position, chars.length));
    return {
      before: chars.slice(0, pos).join(""),
      at: pos < chars.length ? chars[pos] : "",
      after: chars.slice(pos + 1).join(""),
    };
  }

  /* Fill `container` with the text, the character at `position` wrapped in <mark>. */
  function renderMarked(container, text, position) {
    container.textContent = "";
    const parts = splitAt(text, position);
    container.appendChild(document.createTextNode(parts.before));
    const mark = el("mark", { class: "error-mark" });
    if (parts.at === "" || parts.at === "\n") {
      mark.classList.add("eoi");
      mark.textContent = "\u00a0";
      mark.title = "end of input";
    } else {
      mark.textContent = parts.at;
    }
    mark.dataset.position = String(position);
    container.appendChild(mark);
    container.appendChild(document.createTextNode((parts.at === "\n" ? "\n" : "") + parts.after + "\u200b"));
  }

  function markGoal(position) {
    renderMarked(mirror, goalBox.value, position);
    mirror.scrollTop = goalBox.scrollTop;
    $("goal-wrap").classList.add("has-error");
  }

  function clearMark() {
    mirror.textContent = "";
    $("goal-wrap").classList.remove("has-error");
  }

  /* ---------- share URL ---------- */

  function queryUrl(goal, logic) {
    const params = new URLSearchParams({ goal: goal, logic: logic });
    return location.origin + location.pathname + "?" + params.toString();
  }

  async function copyText(text) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch (_err) {
      const area = el("textarea");
      area.value = text;
      document.body.appendChild(area);
      area.select();
      const done = document.execCommand("copy");
      area.remove();
      return done;
    }
  }

  function selectLogic(name) {
    const wanted = String(name || "").trim();
    if (!wanted) return;
    const match = Array.from(logicSelect.options).find(
      (o) => o.value.toUpperCase() === wanted.toUpperCase(),
    );
    if (match) {
      logicSelect.value = match.value;
    } else {
      /* An alias (KT, KD, KTB) or a typo: let the server say which. */
      const option = el("option", { value: wanted }, wanted);
      logicSelect.appendChild(option);
      logicSelect.value = wanted;
    }
  }

  /* ---------- talking to the prover ---------- */

  let inFlight = null;

  async function prove() {
    const goal = goalBox.value;
    const logic = logicSelect.value;
    history.replaceState(null, "", queryUrl(goal, logic));
    if (inFlight) inFlight.abort();
    const controller = new AbortController();
    inFlight = controller;
    $("prove").disabled = true;
    const started = performance.now();
    try {
      const response = await fetch(proveUrl, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ goal: goal, logic: logic }),
        signal: controller.signal,
      });
      let body = null;
      try {
        body = await response.json();
      } catch (_err) {
        body = null;
      }
      const roundTrip = performance.now() - started;
      if (response.ok && body && body.verdict) {
        showAnswer(body, roundTrip);
      } else {
        showError(response, body, goal);
      }
    } catch (err) {
      if (err.name === "AbortError") return;
      showFailure("Could not reach the prover", String(err.message || err));
    } finally {
      if (inFlight === controller) {
        inFlight = null;
        $("prove").disabled = false;
      }
    }
  }

  function resetResult() {
    show("result", true);
    show("error", false);
    show("answer", false);
    show("error-goal", false);
    show("proof", false);
    show("countermodel", false);
    show("limits", false);
    clearMark();
  }

  function showFailure(title, message) {
    resetResult();
    $("result").dataset.state = "error";
    $("error-title").textContent = title;
    $("error-message").textContent = message;
    show("error", true);
  }

  function showError(response, body, goal) {
    const error = (body && body.error) || {};
    const code = error.code || "http_" + response.status;
    const message = error.message || response.statusText || "unexpected answer";
    let title = "Error " + response.status + " (" + code + ")";
    if (code === "parse_error") title = "The goal does not parse";
    const retry = response.headers.get("Retry-After");
    if (response.status === 429) {
      title = code === "rate_limited" ? "Too many goals from this page for now" : "The prover is busy";
      if (retry) title += " — retry in " + retry + " s";
    } else if (response.status === 503) {
      title = "The prover is not ready" + (retry ? " — retry in " + retry + " s" : "");
    }
    showFailure(title, message);
    $("result").dataset.state = "error";
    $("result").dataset.errorCode = code;
    if (typeof error.position === "number") {
      const chars = Array.from(goal);
      const where = error.position >= chars.length ? "at the end of the input" : "at position " + error.position;
      $("error-message").textContent = message + " (" + where + ")";
      renderMarked($("error-goal"), goal, error.position);
      show("error-goal", true);
      markGoal(error.position);
    }
  }

  function formatMs(ms) {
    if (typeof ms !== "number") return "—";
    if (ms < 10) return ms.toFixed(2) + " ms";
    if (ms < 1000) return ms.toFixed(1) + " ms";
    return (ms / 1000).toFixed(2) + " s";
  }

  function showAnswer(answer, roundTrip) {
    resetResult();
    const verdict = answer.verdict;
    $("result").dataset.state = verdict;
    delete $("result").dataset.errorCode;
    const verdictNode = $("verdict");
    verdictNode.textContent = verdict;
    verdictNode.className = "verdict " + verdict;
    const verified = $("verified");
    verified.textContent = answer.verified ? "✓ verified" : "not verified";
    verified.className = "badge " + (answer.verified ? "yes" : "no");
    verified.title = answer.verified
      ? verdict === "proved"
        ? "Coq's kernel accepted the certificate"
        : "an evaluator independent of the search confirmed the countermodel"
      : "this answer was not independently checked";
    $("answer-logic").textContent = answer.logic || logicSelect.value;
    $("normalized").textContent = answer.normalized || answer.goal || "";
    $("latency").textContent = formatMs(answer.latency_ms) + " (round trip " + formatMs(roundTrip) + ")";
    $("cache").textContent = answer.cache_hit ? "hit" : "miss";
    $("method").textContent = answer.proof_method || "—";
    const hash = answer.kernel_hash || "";
    $("kernel-hash").textContent = hash ? hash.slice(0, 16) + "…" : "—";
    $("kernel-hash").title = hash;

    const conditions = FRAME_CONDITIONS[answer.logic] || "frames of " + answer.logic;
    if (verdict === "proved") {
      $("verdict-explain").textContent =
        "Valid in " + answer.logic + ": true at every world of every model on " + conditions + "." +
        (answer.verified ? " Coq's kernel checked the certificate below." : " The certificate was NOT checked; do not rely on it.");
      showProof(answer);
    } else if (verdict === "refuted") {
      const checkedBy = answer.certificate
        ? " The model was checked independently of the search, and by Coq's kernel (certificate below)."
        : " The model was checked independently of the search.";
      $("verdict-explain").textContent =
        "Not valid in " + answer.logic + ": here is a model on " + conditions + " where the goal is false." +
        (answer.verified ? checkedBy : " The model was NOT checked.");
      if (answer.countermodel) showCountermodel(answer.countermodel);
      if (answer.verified && answer.certificate) showProof(answer);
    } else {
      const limits = answer.limits || {};
      $("verdict-explain").textContent =
        "No answer within the limits: " + (LIMIT_REASONS[limits.reason] || limits.reason || "a limit was reached") + ".";
      $("limits-explain").textContent = Object.entries(limits)
        .map(([k, v]) => k + ": " + (typeof v === "object" ? JSON.stringify(v) : v))
        .join(" · ");
      show("limits", true);
    }
    show("answer", true);
  }

  function showProof(answer) {
    $("certificate").textContent = answer.certificate || "(no certificate in the answer)";
    $("recheck-hash").textContent = answer.kernel_hash || "(the hash above)";
    $("copy-status").textContent = "";
    show("proof", true);
  }

  /* ---------- countermodel: layout ---------- */

  const NODE_H = 46;
  const LOOP_SPACE = 26;
  const GAP = 30;
  const FLAG = " ✗ goal false";
  const MAX_COLUMN = 6; // more blocks in one layer than this, and the layout goes radial
  const CLUSTER_MIN = 4; // smaller complete clusters read fine as double arrows and loops

  function worldLabel(world) {
    return /^\d+$/.test(String(world)) ? "w" + world : String(world);
  }

  function atomsLabel(atoms) {
    if (!atoms.length) return { text: "none", full: "no atom true", none: true };
    const full = atoms.join(", ");
    const text = full.length > 28 ? full.slice(0, 27) + "…" : full;
    return { text: text, full: full, none: false };
  }

  /* Reads the answer's countermodel into plain maps keyed by the world's string. */
  function readModel(model) {
    const worlds = (model.worlds || []).map(String);
    const valuation = model.valuation || {};
    const succ = new Map(worlds.map((w) => [w, new Set()]));
    for (const pair of model.relation || []) {
      const u = String(pair[0]);
      const v = String(pair[1]);
      if (!succ.has(u)) {
        succ.set(u, new Set());
        worlds.push(u);
      }
      if (!succ.has(v)) {
        succ.set(v, new Set());
        worlds.push(v);
      }
      succ.get(u).add(v);
    }
    const atoms = new Map(worlds.map((w) => [w, (valuation[w] || []).map(String).sort()]));
    return { worlds: worlds, succ: succ, atoms: atoms, actual: String(model.world) };
  }

  /* Strongly connected components (Tarjan), in a deterministic order. */
  function components(worlds, succ) {
    const index = new Map();
    const low = new Map();
    const onStack = new Set();
    const stack = [];
    const result = [];
    let counter = 0;
    function visit(v) {
      index.set(v, counter);
      low.set(v, counter);
      counter += 1;
      stack.push(v);
      onStack.add(v);
      for (const w of succ.get(v)) {
        if (!index.has(w)) {
          visit(w);
          low.set(v, Math.min(low.get(v), low.get(w)));
        } else if (onStack.has(w)) {
          low.set(v, Math.min(low.get(v), index.get(w)));
        }
      }
      if (low.get(v) === index.get(v)) {
        const comp = [];
        let w;
        do {
          w = stack.pop();
          onStack.delete(w);
          comp.push(w);
        } while (w !== v);
        const order = new Map(worlds.map((x, i) => [x, i]));
        comp.sort((a, b) => order.get(a) - order.get(b));
        result.push(comp);
      }
    }
    for (const w of worlds) if (!index.has(w)) visit(w);
    return result.reverse();
  }

  function isCompleteCluster(comp, succ) {
    return comp.every((u) => comp.every((v) => succ.get(u).has(v)));
  }

  function boxesOverlap(a, b, margin) {
    return (
      Math.abs(a.x - b.x) < (a.w + b.w) / 2 + margin && Math.abs(a.y - b.y) < (a.h + b.h) / 2 + margin
    );
  }

  /* The component's worlds in depth-first order from its first world (the falsifying one
   * when it is here): a tree walked this way sits on a ring without crossing edges. */
  function depthFirstOrder(comp, model) {
    const inComp = new Set(comp);
    const start = inComp.has(model.actual) ? model.actual : comp[0];
    const order = [];
    const seen = new Set();
    const stack = [start];
    while (stack.length) {
      const w = stack.pop();
      if (seen.has(w)) continue;
      seen.add(w);
      order.push(w);
      const next = comp.filter((v) => v !== w && !seen.has(v) && model.succ.get(w).has(v));
      for (let k = next.length - 1; k >= 0; k--) stack.push(next[k]);
    }
    return order.concat(comp.filter((w) => !seen.has(w)));
  }

  /* Members of a component that is not a cluster sit on a ring around (0, 0), grown until
   * no two boxes come closer than `margin` (room for their loops and edges). A hub related
   * to every other member of a larger component sits in the middle, so a star stays a star. */
  function ringLayout(members, margin, related) {
    if (members.length < 2) return;
    const hub =
      members.length >= 5 ? members.find((n) => members.every((m) => m === n || related(n.world, m.world))) : null;
    const rim = members.filter((n) => n !== hub);
    if (hub) {
      hub.x = 0;
      hub.y = 0;
    }
    for (let radius = 30; ; radius += 8) {
      rim.forEach((n, k) => {
        const angle = rim.length === 2 && !hub ? Math.PI * (k === 0 ? 1 : 0) : -Math.PI / 2 + (2 * Math.PI * k) / rim.length;
        n.x = radius * Math.cos(angle);
        n.y = radius * Math.sin(angle);
      });
      let clash = false;
      for (let a = 0; a < members.length && !clash; a++) {
        for (let b = a + 1; b < members.length && !clash; b++) {
          clash = boxesOverlap(members[a], members[b], margin);
        }
      }
      if (!clash) return;
    }
  }

  /* Members of a cluster draw no edges among themselves, so a compact grid centred on
   * (0, 0) holds them; returns the grid's extent. */
  function gridLayout(members) {
    const cols = Math.ceil(Math.sqrt(members.length));
    const rows = Math.ceil(members.length / cols);
    const cellW = Math.max(...members.map((n) => n.w)) + 18;
    const cellH = NODE_H + 18;
    members.forEach((n, k) => {
      n.x = ((k % cols) - (cols - 1) / 2) * cellW;
      n.y = (Math.floor(k / cols) - (rows - 1) / 2) * cellH;
    });
    return { w: cols * cellW - 18, h: rows * cellH - 18 };
  }

  /* Layered layout: components of the relation left to right along the condensation
   * (the falsifying world's component first), each component drawn on its own ring,
   * rings grown until no two boxes (with their loops) come closer than GAP. */
  function layout(model) {
    const comps = components(model.worlds, model.succ);
    const compOf = new Map();
    comps.forEach((c, i) => c.forEach((w) => compOf.set(w, i)));
    const layer = comps.map(() => 0);
    /* Tarjan's reverse order is a topological order of the condensation. */
    comps.forEach((c, i) => {
      for (const u of c) {
        for (const v of model.succ.get(u)) {
          const j = compOf.get(v);
          if (j !== i) layer[j] = Math.max(layer[j], layer[i] + 1);
        }
      }
    });

    const nodes = new Map();
    const blocks = comps.map((comp, i) => {
      const cluster = comp.length >= CLUSTER_MIN && isCompleteCluster(comp, model.succ);
      const members = depthFirstOrder(comp, model).map((w) => {
        const label = atomsLabel(model.atoms.get(w) || []);
        const nameText = worldLabel(w) + (w === model.actual ? FLAG : "");
        const width = Math.max(64, label.text.length * 9.4 + 24, nameText.length * 7 + 20);
        const node = { world: w, label: label, nameText: nameText, w: width, h: NODE_H, x: 0, y: 0 };
        nodes.set(w, node);
        return node;
      });
      let hull = null;
      if (cluster) {
        const span = gridLayout(members);
        hull = { w: span.w + 28, h: span.h + 28 };
      } else {
        ringLayout(members, 2 * LOOP_SPACE + 16, (u, v) => model.succ.get(u).has(v) || model.succ.get(v).has(u));
      }
      let minX = Infinity;
      let maxX = -Infinity;
      let minY = Infinity;
      let maxY = -Infinity;
      for (const n of members) {
        minX = Math.min(minX, n.x - n.w / 2 - LOOP_SPACE);
        maxX = Math.max(maxX, n.x + n.w / 2 + LOOP_SPACE);
        minY = Math.min(minY, n.y - n.h / 2 - LOOP_SPACE);
        maxY = Math.max(maxY, n.y + n.h / 2 + LOOP_SPACE);
      }
      if (hull) {
        minX = Math.min(minX, -hull.w / 2);
        maxX = Math.max(maxX, hull.w / 2);
        minY = Math.min(minY, -hull.h / 2 - 18);
        maxY = Math.max(maxY, hull.h / 2);
      }
      return { index: i, comp: comp, members: members, cluster: cluster, hull: hull, layer: layer[i], minX, maxX, minY, maxY };
    });

    const columns = Array.from({ length: Math.max(...layer) + 1 }, () => []);
    blocks.forEach((b) => columns[b.layer].push(b));
    if (Math.max(...columns.map((col) => col.length)) > MAX_COLUMN) {
      placeRadially(blocks, model, compOf);
    } else {
      placeInColumns(columns);
    }
    for (const b of blocks) {
      for (const n of b.members) {
        n.x += b.cx;
        n.y += b.cy;
        n.blockX = b.cx;
        n.blockY = b.cy;
      }
    }
    return { nodes: nodes, blocks: blocks };
  }

  /* Small models read left to right: each layer of the condensation a column of blocks. */
  function placeInColumns(columns) {
    const columnHeights = columns.map((col) =>
      col.reduce((sum, b) => sum + (b.maxY - b.minY), 0) + GAP * 2 * Math.max(0, col.length - 1),
    );
    const height = Math.max(...columnHeights);
    let x = 0;
    columns.forEach((col, c) => {
      const width = Math.max(...col.map((b) => b.maxX - b.minX));
      let y = (height - columnHeights[c]) / 2;
      for (const b of col) {
        b.cx = x + width / 2 - (b.maxX + b.minX) / 2;
        b.cy = y - b.minY;
        y += b.maxY - b.minY + 2 * GAP;
      }
      x += width + 110;
    });
  }

  /* A wide model (a world seeing many others) would make a tall column: instead the
   * falsifying world's block sits in the middle and a spanning tree of the blocks fans out
   * on rings, each block in an angular sector sized by its subtree's leaves, each ring far
   * enough out that neighbouring blocks' bounding circles stay GAP apart. */
  function placeRadially(blocks, model, compOf) {
    const root = compOf.has(model.actual) ? compOf.get(model.actual) : 0;
    const before = blocks.map(() => new Set());
    blocks.forEach((b) =>
      b.comp.forEach((u) =>
        model.succ.get(u).forEach((v) => {
          if (compOf.get(v) !== b.index) before[compOf.get(v)].add(b.index);
        }),
      ),
    );
    /* Tree parent: the deepest predecessor (so a transitive shortcut does not flatten the
     * tree); blocks the root does not reach hang from the root. Blocks are in topological
     * order, so predecessors are placed first. */
    const children = blocks.map(() => []);
    const depth = blocks.map(() => -1);
    depth[root] = 0;
    const order = [root];
    for (const b of blocks) {
      if (b.index === root) continue;
      let parent = root;
      for (const i of before[b.index]) if (depth[i] > depth[parent]) parent = i;
      depth[b.index] = depth[parent] + 1;
      children[parent].push(b.index);
      order.push(b.index);
    }
    const leaves = blocks.map(() => 1);
    for (const i of order.slice().reverse()) {
      if (children[i].length) leaves[i] = children[i].reduce((sum, j) => sum + leaves[j], 0);
    }
    const span = blocks.map(() => [0, 0]);
    span[root] = [-Math.PI, Math.PI];
    for (const i of order) {
      let from = span[i][0];
      const width = span[i][1] - span[i][0];
      for (const j of children[i]) {
        span[j] = [from, from + (width * leaves[j]) / leaves[i]];
        from = span[j][1];
      }
    }
    const reach = blocks.map((b) => Math.hypot(b.maxX - b.minX, b.maxY - b.minY) / 2);
    const maxDepth = Math.max(...depth);
    const radius = [0];
    for (let d = 1; d <= maxDepth; d++) {
      const here = blocks.filter((b) => depth[b.index] === d).map((b) => b.index);
      const before = blocks.filter((b) => depth[b.index] === d - 1).map((b) => reach[b.index]);
      let r = radius[d - 1] + Math.max(...before) + Math.max(...here.map((i) => reach[i])) + 2 * GAP;
      for (const i of here) {
        const angle = Math.min(span[i][1] - span[i][0], Math.PI);
        r = Math.max(r, (reach[i] + GAP / 2) / Math.sin(angle / 2));
      }
      radius.push(r);
    }
    for (const b of blocks) {
      const angle = (span[b.index][0] + span[b.index][1]) / 2;
      const r = radius[depth[b.index]];
      b.cx = r * Math.cos(angle) - (b.maxX + b.minX) / 2;
      b.cy = r * Math.sin(angle) - (b.maxY + b.minY) / 2;
    }
  }

  /* ---------- countermodel: drawing ---------- */

  /* Where the segment from the box centre towards (tx, ty) leaves the box. */
  function boxExit(n, tx, ty, pad) {
    const dx = tx - n.x;
    const dy = ty - n.y;
    const hw = n.w / 2 + pad;
    const hh = n.h / 2 + pad;
    const scale = 1 / Math.max(Math.abs(dx) / hw, Math.abs(dy) / hh, 1e-9);
    return { x: n.x + dx * scale, y: n.y + dy * scale };
  }

  function segmentHitsBox(p, q, box, margin) {
    for (let t = 0.05; t < 0.96; t += 0.03) {
      const x = p.x + (q.x - p.x) * t;
      const y = p.y + (q.y - p.y) * t;
      if (Math.abs(x - box.x) < box.w / 2 + margin && Math.abs(y - box.y) < box.h / 2 + margin) return true;
    }
    return false;
  }

  function quadPoints(a, c, b) {
    const points = [];
    for (let t = 0; t <= 1.0001; t += 0.05) {
      const s = 1 - t;
      points.push({ x: s * s * a.x + 2 * s * t * c.x + t * t * b.x, y: s * s * a.y + 2 * s * t * c.y + t * t * b.y });
    }
    return points;
  }

  function curveHitsBoxes(a, c, b, others) {
    const points = quadPoints(a, c, b);
    for (let i = 0; i + 1 < points.length; i++) {
      for (const box of others) if (segmentHitsBox(points[i], points[i + 1], box, 6)) return true;
    }
    return false;
  }

  /* A straight edge when nothing is in the way, otherwise the least bent curve that
   * avoids every other box. */
  function routeEdge(a, b, allNodes) {
    const others = allNodes.filter((n) => n !== a && n !== b);
    const mid = { x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 };
    const length = Math.hypot(b.x - a.x, b.y - a.y) || 1;
    const nx = -(b.y - a.y) / length;
    const ny = (b.x - a.x) / length;
    const bends = [0, 0.18, -0.18, 0.32, -0.32, 0.48, -0.48, 0.65, -0.65];
    const bend =
      bends.find((k) => !curveHitsBoxes(a, { x: mid.x + nx * k * length, y: mid.y + ny * k * length }, b, others)) ||
      0;
    if (bend === 0) {
      const start = boxExit(a, b.x, b.y, 2);
      const end = boxExit(b, a.x, a.y, 3);
      return { d: "M" + start.x + "," + start.y + " L" + end.x + "," + end.y, points: [start, end] };
    }
    const control = { x: mid.x + nx * bend * length, y: mid.y + ny * bend * length };
    const start = boxExit(a, control.x, control.y, 2);
    const end = boxExit(b, control.x, control.y, 3);
    return {
      d: "M" + start.x + "," + start.y + " Q" + control.x + "," + control.y + " " + end.x + "," + end.y,
      points: quadPoints(start, control, end),
    };
  }

  /* A small loop on the side of the box that is farthest, in angle, from the box's other
   * edges; with no other edge, the side facing away from its component's centre. */
  function loopSide(n, neighbours) {
    const sides = [
      [0, -1],
      [1, 0],
      [0, 1],
      [-1, 0],
    ];
    if (!neighbours.length) {
      const dx = n.x - n.blockX;
      const dy = n.y - n.blockY;
      if (Math.abs(dx) <= 1 && Math.abs(dy) <= 1) return sides[0];
      if (Math.abs(dx) / (n.w / 2) > Math.abs(dy) / (n.h / 2)) return [Math.sign(dx), 0];
      return [0, Math.sign(dy)];
    }
    let best = sides[0];
    let bestGap = -1;
    for (const side of sides) {
      const gap = Math.min(
        ...neighbours.map((m) => {
          const length = Math.hypot(m.x - n.x, m.y - n.y) || 1;
          return Math.acos(Math.max(-1, Math.min(1, (side[0] * (m.x - n.x) + side[1] * (m.y - n.y)) / length)));
        }),
      );
      if (gap > bestGap + 1e-6) {
        best = side;
        bestGap = gap;
      }
    }
    return best;
  }

  function loopPath(n, neighbours) {
    const [sx, sy] = loopSide(n, neighbours);
    const r = LOOP_SPACE - 4;
    if (sx !== 0) {
      const ex = n.x + sx * (n.w / 2);
      return "M" + ex + "," + (n.y - 9) + " C" + (ex + sx * r) + "," + (n.y - 24) + " " + (ex + sx * r) + "," + (n.y + 24) + " " + (ex + sx * 2) + "," + (n.y + 9);
    }
    const ey = n.y + sy * (n.h / 2);
    return "M" + (n.x - 11) + "," + ey + " C" + (n.x - 24) + "," + (ey + sy * r) + " " + (n.x + 24) + "," + (ey + sy * r) + " " + (n.x + 11) + "," + (ey + sy * 2);
  }

  function drawCountermodel(model) {
    const drawn = layout(model);
    const nodes = Array.from(drawn.nodes.values());
    const bounds = { minX: Infinity, minY: Infinity, maxX: -Infinity, maxY: -Infinity };
    const extend = (x, y) => {
      bounds.minX = Math.min(bounds.minX, x);
      bounds.maxX = Math.max(bounds.maxX, x);
      bounds.minY = Math.min(bounds.minY, y);
      bounds.maxY = Math.max(bounds.maxY, y);
    };
    const root = svg("svg", {
      class: "countermodel-graph",
      role: "img",
      "aria-label": "Kripke countermodel with " + nodes.length + " worlds",
    });
    const defs = svg("defs");
    const marker = svg("marker", {
      id: "pxl-arrow",
      viewBox: "0 0 10 10",
      refX: 9,
      refY: 5,
      markerWidth: 8,
      markerHeight: 8,
      orient: "auto-start-reverse",
      markerUnits: "userSpaceOnUse",
    });
    marker.appendChild(svg("path", { d: "M0,0 L10,5 L0,10 z" }));
    defs.appendChild(marker);
    root.appendChild(defs);

    const clusterLayer = svg("g", { class: "clusters" });
    const edgeLayer = svg("g", { class: "edges" });
    const nodeLayer = svg("g", { class: "worlds" });
    root.append(clusterLayer, edgeLayer, nodeLayer);

    const clusterOf = new Map();
    for (const b of drawn.blocks) {
      if (!b.cluster) continue;
      b.comp.forEach((w) => clusterOf.set(w, b.index));
      const g = svg("g", { class: "cluster-group", "data-cluster": "cluster:" + b.index, "data-worlds": b.comp.join(" ") });
      g.appendChild(
        svg("rect", { class: "cluster", x: b.cx - b.hull.w / 2, y: b.cy - b.hull.h / 2, width: b.hull.w, height: b.hull.h, rx: 16 }),
      );
      g.appendChild(
        svg("text", { class: "cluster-label", x: b.cx, y: b.cy - b.hull.h / 2 - 6, "text-anchor": "middle" },
          "cluster of " + b.comp.length + ": all see each other"),
      );
      clusterLayer.appendChild(g);
      extend(b.cx - b.hull.w / 2, b.cy - b.hull.h / 2 - 22);
      extend(b.cx + b.hull.w / 2, b.cy + b.hull.h / 2);
    }

    const neighboursOf = (w) =>
      model.worlds
        .filter((v) => v !== w && (model.succ.get(w).has(v) || model.succ.get(v).has(w)))
        .map((v) => drawn.nodes.get(v));
    /* A world that sees every member of a cluster (or is seen by all of them) gets one
     * arrow to (or from) the cluster's outline instead of one arrow per member. */
    const done = new Set();
    for (const b of drawn.blocks) {
      if (!b.cluster) continue;
      for (const w of model.worlds) {
        if (clusterOf.get(w) === b.index) continue;
        const n = drawn.nodes.get(w);
        const out = b.comp.every((m) => model.succ.get(w).has(m));
        const inn = b.comp.every((m) => model.succ.get(m).has(w));
        if (!out && !inn) continue;
        const rim = boxExit({ x: b.cx, y: b.cy, w: b.hull.w, h: b.hull.h }, n.x, n.y, 2);
        const start = boxExit(n, b.cx, b.cy, 3);
        const attrs = {
          class: "edge cluster-edge" + (out && inn ? " both" : ""),
          d: "M" + start.x + "," + start.y + " L" + rim.x + "," + rim.y,
          "data-from": out ? w : "cluster:" + b.index,
          "data-to": out ? "cluster:" + b.index : w,
        };
        attrs[out ? "marker-end" : "marker-start"] = "url(#pxl-arrow)";
        if (out && inn) attrs["marker-start"] = "url(#pxl-arrow)";
        edgeLayer.appendChild(svg("path", attrs));
        for (const m of b.comp) {
          if (out) done.add(w + "\u0000" + m);
          if (inn) done.add(m + "\u0000" + w);
        }
      }
    }
    for (const u of model.worlds) {
      for (const v of model.succ.get(u)) {
        const a = drawn.nodes.get(u);
        const b = drawn.nodes.get(v);
        if (u === v) {
          if (clusterOf.has(u)) continue;
          edgeLayer.appendChild(
            svg("path", { class: "loop", d: loopPath(a, neighboursOf(u)), "marker-end": "url(#pxl-arrow)", "data-from": u, "data-to": v }),
          );
          continue;
        }
        if (done.has(u + "\u0000" + v)) continue;
        done.add(u + "\u0000" + v);
        if (clusterOf.has(u) && clusterOf.get(u) === clusterOf.get(v)) continue;
        const both = model.succ.get(v).has(u) && !done.has(v + "\u0000" + u);
        if (both) done.add(v + "\u0000" + u);
        const route = routeEdge(a, b, nodes);
        route.points.forEach((p) => extend(p.x, p.y));
        const attrs = {
          class: both ? "edge both" : "edge",
          d: route.d,
          "marker-end": "url(#pxl-arrow)",
          "data-from": u,
          "data-to": v,
        };
        if (both) attrs["marker-start"] = "url(#pxl-arrow)";
        edgeLayer.appendChild(svg("path", attrs));
      }
    }

    for (const n of nodes) {
      const falsifying = n.world === model.actual;
      const g = svg("g", {
        class: "world" + (falsifying ? " falsifying" : ""),
        "data-world": n.world,
        "data-falsifying": falsifying ? "true" : "false",
        transform: "translate(" + n.x + "," + n.y + ")",
      });
      g.appendChild(svg("title", {}, worldLabel(n.world) + ": " + n.label.full + (falsifying ? " — the goal is false here" : "")));
      g.appendChild(svg("rect", { class: "box", x: -n.w / 2, y: -n.h / 2, width: n.w, height: n.h, rx: 9 }));
      const name = svg("text", { class: "name", x: 0, y: -n.h / 2 + 15, "text-anchor": "middle" });
      name.appendChild(svg("tspan", {}, worldLabel(n.world)));
      if (falsifying) name.appendChild(svg("tspan", { class: "flag" }, FLAG));
      g.appendChild(name);
      g.appendChild(
        svg("text", { class: "atoms" + (n.label.none ? " none" : ""), x: 0, y: n.h / 2 - 10, "text-anchor": "middle" }, n.label.text),
      );
      nodeLayer.appendChild(g);
      extend(n.x - n.w / 2 - LOOP_SPACE, n.y - n.h / 2 - LOOP_SPACE);
      extend(n.x + n.w / 2 + LOOP_SPACE, n.y + n.h / 2 + LOOP_SPACE);
    }
    const pad = 16;
    const width = Math.ceil(bounds.maxX - bounds.minX + 2 * pad);
    const height = Math.ceil(bounds.maxY - bounds.minY + 2 * pad);
    root.setAttribute("viewBox", [bounds.minX - pad, bounds.minY - pad, width, height].join(" "));
    root.setAttribute("width", String(width));
    root.setAttribute("height", String(height));
    return root;
  }

  function showCountermodel(raw) {
    const model = readModel(raw);
    const graph = $("graph");
    graph.textContent = "";
    const drawing = drawCountermodel(model);
    graph.appendChild(drawing);
    show("legend-cluster", drawing.querySelector(".cluster") !== null);
    $("countermodel-explain").textContent =
      model.worlds.length + (model.worlds.length === 1 ? " world" : " worlds") +
      "; the goal is false at " + worldLabel(model.actual) + ".";
    const body = $("worlds-table").querySelector("tbody");
    body.textContent = "";
    for (const w of model.worlds) {
      const row = el("tr", { "data-world": w });
      if (w === model.actual) row.className = "falsifying";
      const atoms = model.atoms.get(w) || [];
      const sees = Array.from(model.succ.get(w)).map(worldLabel);
      row.append(
        el("td", {}, worldLabel(w) + (w === model.actual ? " ✗" : "")),
        el("td", {}, atoms.length ? atoms.join(", ") : "—"),
        el("td", {}, sees.length === model.worlds.length && sees.length > 2 ? "every world" : sees.length ? sees.join(", ") : "—"),
      );
      body.appendChild(row);
    }
    show("countermodel", true);
  }

  /* ---------- wiring ---------- */

  document.querySelectorAll("button.sym").forEach((button) =>
    button.addEventListener("click", () => insertAtCursor(button.dataset.insert)),
  );
  document.querySelectorAll("button.example").forEach((button) =>
    button.addEventListener("click", () => {
      goalBox.value = button.dataset.goal;
      clearMark();
      prove();
    }),
  );
  goalBox.addEventListener("input", clearMark);
  goalBox.addEventListener("scroll", () => {
    mirror.scrollTop = goalBox.scrollTop;
  });
  goalBox.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      prove();
    }
  });
  $("prove-form").addEventListener("submit", (event) => {
    event.preventDefault();
    prove();
  });
  $("share").addEventListener("click", async () => {
    const url = queryUrl(goalBox.value, logicSelect.value);
    history.replaceState(null, "", url);
    const ok = await copyText(url);
    $("share").textContent = ok ? "Link copied" : "Copy failed";
    setTimeout(() => {
      $("share").textContent = "Copy link";
    }, 1500);
  });
  $("copy-cert").addEventListener("click", async () => {
    const ok = await copyText($("certificate").textContent);
    $("copy-status").textContent = ok ? "copied" : "copy failed — select the text instead";
  });

  const params = new URLSearchParams(location.search);
  if (params.has("logic")) selectLogic(params.get("logic"));
  if (params.get("goal")) {
    goalBox.value = params.get("goal");
    prove();
  }
  $("endpoint-note").textContent =
    proveUrl === "/prove"
      ? " · this page sends goals to POST /prove"
      : " · this page sends goals to POST " + proveUrl + " (rate-limited; signed clients use /prove)";
  document.body.dataset.ready = "true";
})();
