// Dead letters: the latest FAILED and TIMEOUT tasks grouped by type, status
// and error, with counts; retry one task of a group, or the whole group.

import { enc, get, post } from "./api.js";
import { dialog, empty, field, fill, fmtInt, h, notify, num, poller, reportError, statusBadge, taskLink, timeAgo } from "./ui.js";

// Who may retry a whole group: the route's own role (docs/rest-api.md: admin,
// as BulkRetryTasks). One place to change if the server's table does.
const GROUP_RETRY_ROLE = "admin";

export function mount(root, route, ctx) {
  const typeFilter = route.params.get("type") || "";
  const summary = h("div.kpis.compact");
  const body = h("div.table-wrap");
  const filterNote = typeFilter
    ? h("p.filter-note", "Showing type ", h("b", typeFilter), " only. ", h("a", { href: "#/dead-letters" }, "Show every type"))
    : null;
  fill(root,
    h("div.page-head", h("h1", "Dead letters"), h("span.muted", "failed and timed-out tasks, grouped by type and error")),
    summary, filterNote, h("div.card", body));

  const expanded = new Set();
  let lastSignature = "";

  const retryOne = async (taskId) => {
    try {
      await post(`/api/v1/tasks/${enc(taskId)}/retry`, { reason: "retried from the dead letters" });
      notify(`Task ${taskId.slice(0, 8)} retried`);
      poll.now();
    } catch (error) {
      reportError(error, "Retry");
    }
  };

  const retryGroup = async (group) => {
    const reason = h("input", { name: "reason", value: "retried from the dead letters", maxlength: 500 });
    const answer = await dialog({
      title: `Retry ${fmtInt(group.count)} ${group.taskType} task${num(group.count) === 1 ? "" : "s"}?`,
      body: [
        h("p", "Every ", statusBadge(group.status), ` ${group.taskType} task whose error is exactly:`),
        h("pre.outcome-text.error-text.small", group.error || "(no error)"),
        h("p.muted.small", "goes back to its queue with a fresh retry budget."),
        field("Reason", reason),
      ],
      confirm: "Retry all",
      submit: async () => {
        const body = { taskType: group.taskType, status: group.status, error: group.error || "" };
        if (reason.value.trim()) body.reason = reason.value.trim();
        // Each call examines a bounded stretch of dead letters; go on while the server says there is more.
        const total = { changed: 0, matched: 0 };
        for (;;) {
          const part = await post("/api/v1/dead-letters/retry", body);
          total.changed += num(part.changed);
          total.matched += num(part.matched);
          if (!part.nextPageToken) return total;
          body.pageToken = part.nextPageToken;
        }
      },
    });
    if (answer) {
      notify(`Retried ${fmtInt(answer.changed)} of ${fmtInt(answer.matched)}`);
      poll.now();
    }
  };

  const render = (answer) => {
    let groups = answer.groups || [];
    if (typeFilter) groups = groups.filter((group) => group.taskType === typeFilter);
    groups.sort((a, b) => num(b.count) - num(a.count) || String(b.lastAt || "").localeCompare(String(a.lastAt || "")));
    const failed = groups.filter((g) => g.status === "TASK_STATUS_FAILED").reduce((sum, g) => sum + num(g.count), 0);
    const timedOut = groups.filter((g) => g.status === "TASK_STATUS_TIMEOUT").reduce((sum, g) => sum + num(g.count), 0);
    const types = new Set(groups.map((g) => g.taskType)).size;
    fill(summary,
      h("div.kpi", h("div.kpi-label", "Failed"), h("div.kpi-value", fmtInt(failed))),
      h("div.kpi", h("div.kpi-label", "Timed out"), h("div.kpi-value", fmtInt(timedOut))),
      h("div.kpi", h("div.kpi-label", "Groups"), h("div.kpi-value", fmtInt(groups.length)), h("div.kpi-sub", `${types} type${types === 1 ? "" : "s"}`)),
      h("div.kpi", h("div.kpi-label", "Scanned"), h("div.kpi-value", fmtInt(answer.scanned)), h("div.kpi-sub", "latest failed or timed out")));

    const signature = JSON.stringify(groups) + [...expanded].join();
    if (signature === lastSignature) return;
    lastSignature = signature;
    if (!groups.length) {
      fill(body, empty("Nothing failed. Failed and timed-out tasks gather here, grouped by their error."));
      return;
    }
    const max = Math.max(...groups.map((g) => num(g.count)));
    const rows = [];
    for (const group of groups) {
      const key = `${group.taskType}\u0000${group.status}\u0000${group.error}`;
      const open = expanded.has(key);
      const toggle = h("button.icon-button.small", { type: "button", title: open ? "Hide tasks" : "Show tasks", "aria-expanded": open ? "true" : "false" }, open ? "▾" : "▸");
      toggle.addEventListener("click", () => {
        if (expanded.has(key)) expanded.delete(key);
        else expanded.add(key);
        lastSignature = "";
        render(answer);
      });
      const fillBar = h("span.bar-fill.bar-fail");
      fillBar.style.width = `${Math.max(3, (num(group.count) / max) * 100)}%`;
      rows.push(h("tr", { "data-test": "dead-group", dataset: { type: group.taskType, status: group.status } },
        h("td", toggle),
        h("td", h("a", { href: `#/tasks?type=${enc(group.taskType)}&status=${String(group.status).replace(/^TASK_STATUS_/, "")}` }, group.taskType)),
        h("td", statusBadge(group.status)),
        h("td.error-cell", { title: group.error || "" }, group.error || h("span.muted", "(no error)")),
        h("td.count-cell", h("span.bar-track.inline", fillBar), h("b", fmtInt(group.count))),
        h("td", timeAgo(group.lastAt)),
        h("td.row-actions", ctx.can(GROUP_RETRY_ROLE)
          ? h("button.button.small", { type: "button", "data-test": "retry-group", onclick: () => retryGroup(group).catch((error) => reportError(error)) }, "Retry all")
          : null)));
      if (open) {
        const ids = group.taskIds || [];
        rows.push(h("tr.sub-row", h("td"), h("td", { colspan: 6 },
          h("div.sub-list", ids.map((taskId) => h("span.sub-item", taskLink(taskId),
            ctx.can("submitter") ? h("button.button.tiny", { type: "button", "data-test": "retry-one", onclick: () => retryOne(taskId) }, "Retry") : null)),
            num(group.count) > ids.length ? h("span.muted.small", `and ${fmtInt(num(group.count) - ids.length)} more`) : null))));
      }
    }
    fill(body, h("table.table.dead", { "data-test": "dead-letters" },
      h("thead", h("tr", h("th"), h("th", "Type"), h("th", "Status"), h("th", "Error"), h("th", "Count"), h("th", "Last"), h("th"))),
      h("tbody", rows)));
  };

  const poll = poller(async (signal) => render(await get("/api/v1/dead-letters?limit=1000", { signal })), 10000);
  return () => poll.stop();
}
