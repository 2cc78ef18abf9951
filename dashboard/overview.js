// Overview: the leader, nodes and workers, queue depths, throughput and
// start latency over 15 minutes, failures per type. Three reads on their
// own timers (stats 3 s, history 5 s, dead letters 15 s): O(1) per page.

import { get } from "./api.js";
import { TimeChart, barList } from "./charts.js";
import {
  STATUSES, empty, fill, fmtInt, fmtMs, fmtNum, h, loadBar, num, parseTime, poller, statusBadge, timeAgo,
} from "./ui.js";

const WINDOW_MS = 15 * 60_000;

export function kpi(label, value, sub, { test, tone } = {}) {
  return h(`div.kpi${tone ? `.tone-${tone}` : ""}`, { "data-test": test },
    h("div.kpi-label", label), h("div.kpi-value", value), sub ? h("div.kpi-sub", sub) : null);
}

/** Workers grouped by node, leader first: the table the overview and the workers page share. */
export function workersTable(stats, { detailed = false } = {}) {
  const workers = [...(stats.workers || [])].sort((a, b) =>
    (a.nodeId || "").localeCompare(b.nodeId || "") || (a.workerId || "").localeCompare(b.workerId || ""));
  if (!workers.length) return empty("No live workers. Start a node, or check that Redis answers.");
  const leader = stats.leaderNodeId || "";
  const rows = workers.map((worker) => {
    const running = num(worker.running);
    const capacity = num(worker.capacity);
    const beat = parseTime(worker.lastHeartbeat);
    const age = beat === null ? null : Date.now() - beat;
    // What it can run: its types (narrowed by --task-types, else all) among
    // those whose executor it has (http, grpc, its local handlers).
    const runs = [...(worker.executorKinds || []), ...(worker.localHandlers || [])];
    const types = (worker.taskTypes && worker.taskTypes.length ? worker.taskTypes.join(", ") : "all")
      + (runs.length ? ` · runs ${runs.join(", ")}` : "");
    return h("tr", { "data-test": "worker-row", dataset: { workerId: worker.workerId || "", nodeId: worker.nodeId || "" } },
      h("td", h("span.node-name", worker.nodeId || "–"), worker.nodeId && worker.nodeId === leader ? h("span.tag.leader-tag", "leader") : null),
      h("td.mono.small", { title: worker.workerId }, worker.workerId || "–"),
      h("td.load", loadBar(running, capacity), h("span.load-text", `${running} / ${capacity}`)),
      h("td.num", fmtInt(worker.queued)),
      detailed ? h("td.small", { title: types }, types) : null,
      h(`td${age !== null && age > 6000 ? ".warn" : ""}`, timeAgo(beat)));
  });
  return h("table.table", { "data-test": "workers" },
    h("thead", h("tr", h("th", "Node"), h("th", "Worker"), h("th", "Running / capacity"), h("th.num", "Queued"),
      detailed ? h("th", "Task types") : null, h("th", "Heartbeat"))),
    h("tbody", rows));
}

export function mount(root, route, ctx) {
  const kpis = h("div.kpis");
  const statuses = h("div.status-strip");
  const throughputBox = h("div");
  const latencyBox = h("div");
  const queueBox = h("div");
  const workersBox = h("div.card-body");
  const failuresBox = h("div.card-body");
  const failuresNote = h("span.muted.small");
  const historyNote = h("span.muted.small");

  fill(root,
    h("div.page-head", h("h1", "Overview"), h("span.live-dot", { title: "Refreshing every few seconds" }, "live")),
    kpis,
    statuses,
    h("div.grid-3",
      h("div.card", h("div.card-head", h("h2", "Throughput"), h("span.muted.small", "tasks finished per second")), throughputBox),
      h("div.card", h("div.card-head", h("h2", "Create → start latency"), historyNote), latencyBox),
      h("div.card", h("div.card-head", h("h2", "Queue depth"), h("span.muted.small", "waiting in Redis")), queueBox)),
    h("div.grid-2-1",
      h("div.card", h("div.card-head", h("h2", "Nodes and workers"), h("a.small", { href: "#/workers" }, "All workers →")), workersBox),
      h("div.card", h("div.card-head", h("h2", "Failures per type"), failuresNote), failuresBox)));

  const charts = [
    new TimeChart(throughputBox, { series: [{ key: "throughput", label: "finished / s", cls: "c1", area: true }], format: (v) => `${fmtNum(v)}/s`, empty: "Collecting samples (one every 10 s)…" }),
    new TimeChart(latencyBox, {
      series: [{ key: "p50", label: "p50", cls: "c2" }, { key: "p99", label: "p99", cls: "c3" }], unit: "ms", format: fmtMs,
      empty: "Collecting samples (one every 10 s)…",
    }),
    new TimeChart(queueBox, {
      series: [{ key: "high", label: "high", cls: "c3" }, { key: "normal", label: "normal", cls: "c1" }, { key: "delayed", label: "delayed", cls: "c4" }],
      format: fmtInt, integer: true, empty: "Collecting samples (one every 10 s)…",
    }),
  ];

  const renderStats = (stats) => {
    ctx.noteNode(stats.nodeId);
    const workers = stats.workers || [];
    const byStatus = stats.tasksByStatus || {};
    const count = (name) => num(byStatus[`TASK_STATUS_${name}`]);
    const running = workers.reduce((sum, w) => sum + num(w.running), 0);
    const capacity = workers.reduce((sum, w) => sum + num(w.capacity), 0);
    const queued = workers.reduce((sum, w) => sum + num(w.queued), 0);
    const nodes = new Set(workers.map((w) => w.nodeId)).size;
    const leader = stats.leaderNodeId;
    const unserved = stats.unservedTaskTypes || [];
    fill(kpis,
      kpi("Leader", leader ? h("span", { "data-test": "leader" }, leader) : h("span.warn-text", { "data-test": "leader" }, "none"),
        leader ? `epoch ${fmtInt(stats.leaderEpoch)}` : "no node holds the lock", { tone: leader ? "" : "bad" }),
      kpi("Workers", h("span", { "data-test": "worker-count" }, String(workers.length)), `${nodes} node${nodes === 1 ? "" : "s"} · ${running} / ${capacity} busy`),
      kpi("High", fmtInt(stats.queueHigh), "queued, high priority", { test: "queue-high" }),
      kpi("Normal", fmtInt(stats.queueNormal), "queued, normal priority", { test: "queue-normal" }),
      kpi("Delayed", fmtInt(stats.queueDelayed), "run_at or retry backoff", { test: "queue-delayed" }),
      kpi("Waiting", fmtInt(count("WAITING")), "on dependencies", { test: "queue-waiting" }),
      kpi("No worker", h("span", { "data-test": "unserved-count" }, String(unserved.length)),
        unserved.length
          ? unserved.map((type) => `${type.taskType} (${fmtInt(type.parkedTasks)} waiting)`).join(", ")
          : "every type has a live worker",
        { test: "unserved-types", tone: unserved.length ? "bad" : "" }),
      kpi("On workers", fmtInt(queued), "on worker queues"));
    fill(statuses, STATUSES.map((name) =>
      h("a.status-count", { href: `#/tasks?status=${name}`, title: `List ${name.toLowerCase()} tasks` },
        statusBadge(name), h("span.count", fmtInt(count(name))))));
    fill(workersBox, workersTable(stats));
  };

  const renderHistory = (history) => {
    const samples = history.samples || [];
    const interval = Math.max(1, num(history.intervalSeconds) || 10) * 1000;
    const points = samples.map((sample) => {
      const p50 = sample.startLatencyP50Ms;
      const p99 = sample.startLatencyP99Ms;
      const started = p50 !== undefined || p99 !== undefined; // omitted: nothing started in that interval
      return {
        t: parseTime(sample.at),
        throughput: num(sample.throughput),
        p50: started ? num(p50) : null,
        p99: started ? num(p99) : null,
        high: num(sample.queueHigh),
        normal: num(sample.queueNormal),
        delayed: num(sample.queueDelayed),
      };
    }).filter((point) => point.t !== null).sort((a, b) => a.t - b.t);
    const last = points.length ? points[points.length - 1].t : 0;
    const to = Math.max(Date.now(), last);
    const range = { from: to - WINDOW_MS, to, gap: interval * 2.5 };
    for (const chart of charts) chart.update({ ...range, points });
    const latest = [...points].reverse().find((point) => point.p50 !== null);
    historyNote.textContent = latest ? `now p50 ${fmtMs(latest.p50)} · p99 ${fmtMs(latest.p99)}` : "this node's worker";
  };

  const renderFailures = (answer) => {
    const byType = new Map();
    for (const group of answer.groups || []) {
      byType.set(group.taskType, (byType.get(group.taskType) || 0) + num(group.count));
    }
    const items = [...byType.entries()].sort((a, b) => b[1] - a[1]).slice(0, 8)
      .map(([type, value]) => ({ label: type, value, href: `#/dead-letters?type=${encodeURIComponent(type)}` }));
    failuresNote.textContent = `of the ${fmtInt(answer.scanned)} latest failed or timed out`;
    fill(failuresBox, items.length ? barList(items, { format: fmtInt }) : empty("No failed or timed-out tasks. "));
  };

  const polls = [
    poller(async (signal) => renderStats(await get("/api/v1/stats", { signal })), 3000),
    poller(async (signal) => renderHistory(await get("/api/v1/history", { signal })), 5000),
    poller(async (signal) => renderFailures(await get("/api/v1/dead-letters?limit=1000", { signal })), 15000),
  ];

  return () => {
    for (const poll of polls) poll.stop();
    for (const chart of charts) chart.destroy();
  };
}
