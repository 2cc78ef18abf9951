// A task's place in its dependency graph, on its page: the tasks it depends
// on with their statuses, what it still waits on or what cancelled it, the
// tasks that depend on it, and the results its parents passed it. Drawn as
// parents → this task → dependents in plain HTML.
//
// Bounded whatever the graph: the first PARENTS parents (one GET each, in
// parallel) and one ListTasks page of dependents (`dependsOn`); the rest are
// counted ("and 12 more") or linked (the Tasks page filtered by dependsOn).
// Re-read every few seconds while something shown can still change.

import { ApiError, enc, get, query } from "./api.js";
import { fill, h, isTerminal, poller, pretty, shortId, shortStatus, statusBadge } from "./ui.js";

const PARENTS = 8;
const CHILDREN = 8;
const REFRESH_MS = 3000;

/** { card, update(task), stop() }: the card stays hidden while the task has neither parents nor dependents. */
export function dependencyCard(id) {
  let task = null;
  let parents = new Map(); // id -> task, or { taskId, missing: true } once read
  let children = null; // null until read
  let moreChildren = false;
  let poll = null;
  let readParents = true; // the parents are read again only when they may have changed

  const counts = h("span.muted.small", { "data-test": "dep-counts" });
  const graph = h("div.dag", { "data-test": "dependencies-graph" });
  const note = h("div.dag-note");
  const results = h("div.dag-results");
  const card = h("div.card.dependencies", { "data-test": "dependencies", hidden: true },
    h("div.card-head", h("h2", "Dependencies"), counts), graph, note, results);

  const node = (shown, test, extra = "") => {
    if (!shown) return null;
    if (shown.missing) {
      return h(`span.dag-node.missing${extra}`, { "data-test": test, dataset: { taskId: shown.taskId, status: "" }, title: "Not found: past its retention time?" },
        h("span.mono", shortId(shown.taskId)), h("span.dag-type.muted", "not found"));
    }
    const status = shortStatus(shown.status);
    const content = [statusBadge(status), h("span.mono", shortId(shown.taskId)), h("span.dag-type", shown.taskType || "")];
    return test === "dep-self"
      ? h(`span.dag-node.self.status-${status.toLowerCase()}`, { "data-test": test, dataset: { taskId: shown.taskId, status } }, content)
      : h(`a.dag-node.status-${status.toLowerCase()}${extra}`,
        { href: `#/tasks/${enc(shown.taskId)}`, title: shown.taskId, "data-test": test, dataset: { taskId: shown.taskId, status } }, content);
  };

  const render = () => {
    const dependsOn = task.dependsOn || [];
    const status = shortStatus(task.status);
    const blockedBy = status === "CANCELLED" ? task.blockedBy || "" : "";
    const known = children || [];
    card.hidden = !dependsOn.length && !known.length;
    if (card.hidden) return;
    counts.textContent = `${dependsOn.length} parent${dependsOn.length === 1 ? "" : "s"} · `
      + (children === null ? "dependents…" : `${known.length}${moreChildren ? "+" : ""} dependent${known.length === 1 && !moreChildren ? "" : "s"}`);

    const parentNodes = dependsOn.slice(0, PARENTS).map((parent) =>
      node(parents.get(parent) || { taskId: parent, status: "" }, "dep-parent", parent === blockedBy ? ".blocker" : ""));
    const hiddenParents = dependsOn.length - parentNodes.length;
    // Two grid rows: the titles, then the columns (each side's bus spans its nodes only).
    fill(graph,
      h("div.dag-title.t-parents", "Depends on"), h("div.dag-gap"), h("div.dag-title.t-this", "This task"), h("div.dag-gap"),
      h("div.dag-title.t-children", "Dependents"),
      h(`div.dag-col.dag-parents${parentNodes.length ? "" : ".none"}`, { "data-test": "dep-parents" },
        parentNodes.length ? parentNodes : h("span.muted.small", "nothing"),
        hiddenParents > 0 ? h("span.dag-more.muted.small", `and ${hiddenParents} more`) : null),
      h("div.dag-arrow.a-in", { "aria-hidden": "true" }, "→"),
      h("div.dag-col.dag-this", node(task, "dep-self")),
      h("div.dag-arrow.a-out", { "aria-hidden": "true" }, "→"),
      h(`div.dag-col.dag-children${known.length ? "" : ".none"}`, { "data-test": "dep-children" },
        children === null ? h("span.muted.small", "reading…")
          : known.length ? known.map((child) => node(child, "dep-child")) : h("span.muted.small", "none"),
        moreChildren
          ? h("a.dag-more.small", { href: `#/tasks?dependsOn=${enc(id)}`, "data-test": "dep-more-children" }, "and more: list them all →")
          : null));

    const link = (taskId) => h("a.mono", { href: `#/tasks/${enc(taskId)}`, title: taskId }, shortId(taskId));
    if (status === "WAITING") {
      const open = dependsOn.filter((parent) => {
        const shown = parents.get(parent);
        return !shown || shown.missing || shortStatus(shown.status) !== "SUCCEEDED";
      }).slice(0, PARENTS);
      const waitingOn = task.waitingOn || open.length;
      fill(note, h("p", { "data-test": "dep-waiting" }, statusBadge("WAITING"),
        dependsOn.length === 1 ? " for its dependency to succeed" : ` for ${waitingOn} of its ${dependsOn.length} dependencies to succeed`,
        open.length ? [": ", open.map((parent, i) => [i ? ", " : "", link(parent)])] : null, ". ",
        h("span.muted", "It is queued when the last one succeeds, and cancelled if one fails, times out or is cancelled.")));
    } else if (blockedBy) {
      const blocker = parents.get(blockedBy);
      fill(note, h("p", { "data-test": "dep-blocked" }, "Cancelled because its dependency ", link(blockedBy), " ended ",
        blocker && !blocker.missing ? statusBadge(blocker.status) : "unsuccessfully",
        ". ", h("span.muted", "Retrying that task brings this one back to waiting.")));
    } else {
      fill(note);
    }

    const received = Object.entries(task.dependencyResults || {}).sort(([a], [b]) => dependsOn.indexOf(a) - dependsOn.indexOf(b));
    fill(results, received.length
      ? [h("div.dag-title", "Results received"),
        h("table.kv", { "data-test": "dep-results" }, h("tbody", received.slice(0, PARENTS).map(([parent, result]) =>
          h("tr", { dataset: { taskId: parent } }, h("th", link(parent)), h("td", h("pre.value", pretty(result) || "\u00a0")))))),
        received.length > PARENTS ? h("span.dag-more.muted.small", `and ${received.length - PARENTS} more`) : null]
      : null);
  };

  /**
   * Anything shown that may still change: keep reading. Dependents move only
   * once this task ended (until then they wait on it); a change of this
   * task's own status reads everything again anyway.
   */
  const unsettled = () => {
    if (!task) return false;
    const open = (shown) => !shown.missing && !isTerminal(shown.status);
    if (shortStatus(task.status) === "WAITING" || [...parents.values()].some(open)) return true;
    return isTerminal(task.status) && (children || []).some(open);
  };

  const readParent = (parent, signal) => get(`/api/v1/tasks/${enc(parent)}`, { signal }).then((answer) => answer.task, (error) => {
    if (error instanceof ApiError && error.status === 404) return { taskId: parent, missing: true };
    throw error;
  });

  const load = async (signal) => {
    const ids = (task.dependsOn || []).slice(0, PARENTS);
    const again = readParents || ids.some((parent) => !parents.has(parent) || !isTerminal(parents.get(parent).status));
    readParents = false;
    const [read, page] = await Promise.all([
      again ? Promise.all(ids.map((parent) => readParent(parent, signal))) : null,
      get(`/api/v1/tasks${query({ dependsOn: id, pageSize: CHILDREN })}`, { signal }),
    ]);
    if (read) parents = new Map(read.map((shown) => [shown.taskId, shown]));
    children = page.tasks || [];
    moreChildren = !!page.nextPageToken;
    render();
    if (!unsettled() && !readParents && poll) { // readParents: the status changed during this read
      poll.stop();
      poll = null;
    }
  };

  return {
    card,
    /** The task as last read or streamed; a new status reads the edges again. */
    update(next) {
      const changed = !task || shortStatus(task.status) !== shortStatus(next.status);
      task = next;
      render();
      if (!changed) return;
      readParents = true;
      if (poll) poll.now();
      else poll = poller(load, REFRESH_MS);
    },
    stop() {
      if (poll) poll.stop();
      poll = null;
    },
  };
}
