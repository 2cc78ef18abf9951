// Workers: every live worker from /api/v1/stats, read every 3 s.

import { get } from "./api.js";
import { kpi, workersTable } from "./overview.js";
import { fill, fmtInt, h, num, poller } from "./ui.js";

export function mount(root, route, ctx) {
  const summary = h("div.kpis.compact");
  const body = h("div.table-wrap");
  fill(root, h("div.page-head", h("h1", "Workers"), h("span.live-dot", "live")), summary, h("div.card", body));
  const poll = poller(async (signal) => {
    const stats = await get("/api/v1/stats", { signal });
    ctx.noteNode(stats.nodeId);
    const workers = stats.workers || [];
    const running = workers.reduce((sum, w) => sum + num(w.running), 0);
    const capacity = workers.reduce((sum, w) => sum + num(w.capacity), 0);
    const queued = workers.reduce((sum, w) => sum + num(w.queued), 0);
    fill(summary,
      kpi("Workers", String(workers.length), `${new Set(workers.map((w) => w.nodeId)).size} nodes`),
      kpi("Running", fmtInt(running), `of ${fmtInt(capacity)} slots`),
      kpi("Queued on workers", fmtInt(queued)),
      kpi("Leader", stats.leaderNodeId || "none", stats.leaderNodeId ? `epoch ${fmtInt(stats.leaderEpoch)}` : ""),
      kpi("Scheduled by leader", fmtInt(stats.tasksScheduledTotal), "this term"));
    fill(body, workersTable(stats, { detailed: true }));
  }, 3000);
  return () => poll.stop();
}
