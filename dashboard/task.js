// One task: its fields, payload, result or error, its dependencies, a state
// timeline, its logs tailing live, its state live over Server-Sent Events,
// Cancel and Retry.

import { ApiError, enc, get, post, query, streamEvents } from "./api.js";
import { dependencyCard } from "./dependencies.js";
import {
  absolute, copyButton, dialog, empty, field, fill, fmtDuration, h, isRetryable, isTerminal, notify, parseTime, pretty,
  reportError, shortStatus, statusBadge, timeAgo, toast,
} from "./ui.js";

const LOG_PAGE = 100; // small pages: a tail read re-reads at most one partial page
const STATUS_WORD = {
  PENDING: "stored, not yet on a queue", QUEUED: "on the high or normal queue", SCHEDULED: "on a worker's queue", RUNNING: "an executor is working on it",
  SUCCEEDED: "", FAILED: "retries exhausted or not retryable", CANCELLED: "", TIMEOUT: "the last attempt ran past its timeout",
  RETRYING: "waiting for its retry backoff", WAITING: "waiting for the tasks it depends on",
};

export function mount(root, route, ctx) {
  const id = route.id;
  const base = `/api/v1/tasks/${enc(id)}`;
  let task = null;
  let closed = false;
  const observed = []; // { status, at } seen on the event stream
  const timers = new Set();
  const later = (fn, ms) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (!closed) fn();
    }, ms);
    timers.add(timer);
  };

  const title = h("h1.task-title", h("span.mono", id), copyButton(id));
  const statusBox = h("span", { "data-test": "task-status" });
  const liveBox = h("span.live-state", { "data-test": "live-state" });
  const actions = h("div.actions");
  const fields = h("dl.fields", { "data-test": "task-fields" });
  const payloadBox = h("div.card-body");
  const payloadTitle = h("h2", "Payload");
  const outcomeCard = h("div.card.outcome", { hidden: true });
  const timelineBox = h("ol.timeline", { "data-test": "timeline" });
  const logBox = h("div.logs", { "data-test": "logs", tabindex: "0" });
  const logNote = h("span.muted.small");
  const dependencies = dependencyCard(id);

  fill(root,
    h("div.crumbs", h("a", { href: "#/tasks" }, "Tasks"), " / ", h("span.mono", id.slice(0, 8))),
    h("div.page-head", title, statusBox, liveBox, h("div.spacer"), actions),
    h("div.detail-grid",
      h("div.detail-main",
        h("div.card", h("div.card-head", h("h2", "Task")), fields),
        dependencies.card,
        outcomeCard,
        h("div.card", h("div.card-head", h("h2", "Logs"), logNote), logBox)),
      h("div.detail-side",
        h("div.card", h("div.card-head", h("h2", "Timeline")), timelineBox),
        h("div.card", h("div.card-head", payloadTitle), payloadBox))));

  // --- rendering ----------------------------------------------------------------

  const render = () => {
    if (!task) return;
    const status = shortStatus(task.status);
    dependencies.update(task);
    fill(statusBox, statusBadge(status));
    statusBox.dataset.status = status;
    const row = (label, value, test) => [h("dt", label), h("dd", test ? { "data-test": test } : null, value ?? h("span.muted", "–"))];
    const started = parseTime(task.startedAt);
    const finished = parseTime(task.finishedAt);
    fill(fields,
      row("Type", task.taskType),
      row("Status", h("span", statusBadge(status), " ", h("span.muted", STATUS_WORD[status] || ""))),
      row("Priority", task.priority === "PRIORITY_HIGH" ? h("span.tag.high", "high") : "normal"),
      row("Attempt", `${task.attempt || 0} of ${(task.maxRetries || 0) + 1}`),
      row("Worker", task.workerId ? h("span.mono", task.workerId) : null),
      row("Timeout", `${task.timeoutSeconds || 0} s per attempt`),
      task.idempotencyKey ? row("Idempotency key", h("span.mono", task.idempotencyKey)) : null,
      row("Created", timeAgo(task.createdAt)),
      task.runAt ? row("Run at", timeAgo(task.runAt)) : null,
      row("Started", timeAgo(task.startedAt)),
      row("Finished", timeAgo(task.finishedAt)),
      started !== null && finished !== null ? row("Took", fmtDuration(finished - started)) : null,
      task.scheduleId
        ? row("Schedule", h("span", h("a.mono", { href: `#/schedules?id=${enc(task.scheduleId)}`, title: "The schedule" }, task.scheduleId), " · ",
          h("a", { href: `#/tasks?schedule=${enc(task.scheduleId)}`, title: "Every task of this schedule" }, "its tasks")), "task-schedule")
        : null,
      task.scheduledFor ? row("Scheduled for", timeAgo(task.scheduledFor), "task-scheduled-for") : null);

    const payload = Object.entries(task.payload || {}).sort(([a], [b]) => a.localeCompare(b));
    // A task has a payload or typed arguments (args), never both.
    payloadTitle.textContent = task.args ? "Arguments" : "Payload";
    if (task.args) fill(payloadBox, h("pre.value", { "data-test": "task-args" }, JSON.stringify(task.args, null, 2)));
    else fill(payloadBox, payload.length
      ? h("table.kv", h("tbody", payload.map(([key, value]) => h("tr", h("th.mono", key), h("td", h("pre.value", pretty(value)))))))
      : empty("Empty payload"));

    if (task.error || task.result) {
      const isError = !!task.error && status !== "SUCCEEDED";
      fill(outcomeCard,
        h("div.card-head", h("h2", isError ? "Error" : "Result")),
        h(`pre.outcome-text${isError ? ".error-text" : ""}`, { "data-test": isError ? "task-error" : "task-result" }, pretty(isError ? task.error : task.result)),
        isError && task.result ? h("pre.outcome-text", pretty(task.result)) : null,
        !isError && task.error ? h("p.muted.small", `Earlier error: ${task.error}`) : null);
      outcomeCard.hidden = false;
    } else {
      outcomeCard.hidden = true;
    }

    const events = [];
    const add = (at, label, detail, cls) => {
      const ms = parseTime(at);
      if (ms !== null) events.push({ ms, label, detail, cls });
    };
    add(task.createdAt, "Created", task.priority === "PRIORITY_HIGH" ? "high priority" : "", "created");
    if (task.runAt) add(task.runAt, "Due", "not before this time", "due");
    add(task.startedAt, "Started", `attempt ${task.attempt || 1}${task.workerId ? ` on ${task.workerId}` : ""}`, "started");
    for (const change of observed) add(change.at, `→ ${change.status.toLowerCase()}`, "seen live", `status-${change.status.toLowerCase()}`);
    add(task.finishedAt, `Finished: ${status.toLowerCase()}`, "", `status-${status.toLowerCase()}`);
    add(task.updatedAt, "Last update", status.toLowerCase(), "updated");
    events.sort((a, b) => a.ms - b.ms);
    const seen = new Set();
    fill(timelineBox, events.filter((event) => {
      const key = `${event.label}|${event.ms}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    }).map((event) => h(`li.${event.cls}`, h("span.tl-dot"), h("div.tl-body", h("div.tl-label", event.label),
      h("div.tl-meta", h("span.tl-clock", new Date(event.ms).toLocaleTimeString(undefined, { hour12: false })), " · ", timeAgo(event.ms),
        event.detail ? ` · ${event.detail}` : "")))));

    fill(actions,
      ctx.can("submitter") && !isTerminal(status)
        ? h("button.button.danger", { type: "button", "data-test": "cancel", onclick: cancel }, "Cancel")
        : null,
      ctx.can("submitter") && isRetryable(status)
        ? h("button.button.primary", { type: "button", "data-test": "retry", onclick: retry }, "Retry")
        : null);
  };

  const accept = (next) => {
    if (!next || !next.taskId) return;
    const previous = task ? shortStatus(task.status) : null;
    const status = shortStatus(next.status);
    if (previous !== null && previous !== status) observed.push({ status, at: next.updatedAt });
    task = next;
    render();
    if (previous !== null && previous !== status) logs.poke();
  };

  // --- actions ------------------------------------------------------------------

  async function cancel() {
    const reason = h("input", { name: "reason", maxlength: 500, placeholder: "optional", "data-test": "reason" });
    const answer = await dialog({
      title: "Cancel this task?",
      body: [h("p", "A running attempt is aborted; the task ends CANCELLED and is taken off every queue."), field("Reason", reason)],
      confirm: "Cancel task",
      danger: true,
      submit: () => post(`${base}/cancel`, reason.value ? { reason: reason.value } : {}),
    });
    if (answer && answer.task) {
      notify("Task cancelled");
      accept(answer.task);
    }
  }

  async function retry() {
    const reason = h("input", { name: "reason", maxlength: 500, placeholder: "optional", "data-test": "reason" });
    const high = h("input", { type: "checkbox", name: "high" });
    const answer = await dialog({
      title: "Retry this task?",
      body: [h("p", "It goes back to its queue with a fresh retry budget; its logs keep the history."), field("Reason", reason),
        h("label.check", high, " At the front (high priority)")],
      confirm: "Retry",
      submit: () => {
        const body = {};
        if (reason.value) body.reason = reason.value;
        if (high.checked) body.priority = "PRIORITY_HIGH";
        return post(`${base}/retry`, body);
      },
    });
    if (answer && answer.task) {
      notify("Task retried");
      accept(answer.task);
      watch();
      logs.start();
    }
  }

  // --- live state: Server-Sent Events over fetch ---------------------------------

  let stream = null;
  let polling = false;
  const setLive = (text, cls) => {
    liveBox.textContent = text;
    liveBox.className = `live-state ${cls || ""}`;
  };

  function watch() {
    if (closed || stream) return;
    const controller = new AbortController();
    stream = controller;
    let failures = 0;
    let refused = false; // the node's watch limits: read the task every 2 s instead
    const connect = async () => {
      if (closed || stream !== controller) return;
      try {
        await streamEvents(`${base}/events`, {
          signal: controller.signal,
          onOpen: () => setLive("live", "on"),
          onEvent: (type, data) => {
            if (type === "error") {
              // The server's last word on a stream that failed after it began (a problem body).
              let problem = {};
              try {
                problem = JSON.parse(data);
              } catch {
                problem = { detail: data };
              }
              failures += 1;
              if (problem.code === "RESOURCE_EXHAUSTED" || problem.status === 429) refused = true;
              else if (failures >= 3) reportError(new ApiError(problem.status || 0, problem.code, problem.detail, problem.title), "Live updates");
              return;
            }
            if (type !== "task") return;
            failures = 0;
            let value;
            try {
              value = JSON.parse(data);
            } catch {
              return;
            }
            accept(value.taskId ? value : value.task);
          },
        });
      } catch (error) {
        if (error.name === "AbortError" || closed) return;
        failures += 1;
        if (error.status === 429 || error.status === 501) {
          // Too many watchers on this node (or none here): read the task every 2 s instead.
          stream = null;
          setLive("polling", "");
          pollTask();
          return;
        }
        if (error.status === 404 || error.status === 401 || error.status === 403) {
          stream = null;
          setLive("", "");
          return;
        }
        if (failures === 3) reportError(error, "Live updates");
      }
      if (closed || stream !== controller) return;
      if (refused) {
        stream = null;
        setLive("polling", "");
        pollTask();
        return;
      }
      if (task && isTerminal(task.status)) {
        stream = null;
        setLive("final", "");
        return;
      }
      // The stream ended early (a node restart, a connection's age limit): go on.
      setLive("reconnecting…", "warn");
      later(connect, Math.min(10_000, 500 * 2 ** Math.min(failures, 5)));
    };
    connect();
  }

  function pollTask() {
    if (polling || closed) return;
    polling = true;
    const tick = async () => {
      try {
        accept((await get(base)).task);
      } catch (error) {
        reportError(error);
      }
      if (task && isTerminal(task.status)) {
        polling = false;
        setLive("final", "");
        return;
      }
      later(tick, 2000);
    };
    later(tick, 2000);
  }

  // --- logs: read a page at a time, then tail ------------------------------------

  const logs = {
    ids: new Set(),
    lastId: 0, // the newest line read: a tail asks only for lines after it
    timer: 0,
    busy: false,
    stopped: true,
    finalReads: 0,
    start() {
      this.finalReads = 0;
      if (this.stopped) {
        this.stopped = false;
        this.schedule(0);
      }
    },
    /** Reads soon (a state change usually comes with a log line). */
    poke() {
      if (!this.stopped && !this.busy) this.schedule(150);
    },
    schedule(ms) {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.read(), ms);
    },
    async read() {
      if (closed || this.busy) return;
      this.busy = true;
      try {
        for (let pages = 0; pages < 50 && !closed; pages++) {
          const answer = await get(`${base}/logs${query({ pageSize: LOG_PAGE, afterId: this.lastId })}`);
          const lines = answer.logs || [];
          appendLogs(lines);
          for (const line of lines) this.lastId = Math.max(this.lastId, Number(line.id) || 0);
          if (!answer.nextPageToken) break;
        }
      } catch (error) {
        if (!closed) reportError(error, "Logs");
      } finally {
        this.busy = false;
      }
      if (closed) return;
      const count = `${this.ids.size} line${this.ids.size === 1 ? "" : "s"}`;
      // Tail while the task runs; read twice more after it ended (its last lines).
      if (task && isTerminal(task.status) && ++this.finalReads > 2) {
        this.stopped = true;
        logNote.textContent = count;
        return;
      }
      logNote.textContent = `${count} · tailing`;
      this.schedule(task && isTerminal(task.status) ? 1500 : 1000);
    },
  };

  const appendLogs = (lines) => {
    const fresh = lines.filter((line) => !logs.ids.has(String(line.id)));
    if (!fresh.length) {
      if (!logs.ids.size && !logBox.firstChild) {
        // A quick plain success writes none: its row (above) has the attempt, worker and times.
        const quiet = task && task.status === "TASK_STATUS_SUCCEEDED";
        fill(logBox, h("div.empty.logs-empty", quiet ? "No log lines: a quick success that logs nothing writes none (attempt, worker and times are above)." : "No log lines yet."));
      }
      return;
    }
    const atBottom = logBox.scrollHeight - logBox.scrollTop - logBox.clientHeight < 24;
    if (!logs.ids.size) fill(logBox);
    for (const line of fresh) {
      logs.ids.add(String(line.id));
      const ms = parseTime(line.createdAt);
      const level = String(line.level || "INFO").toUpperCase();
      logBox.append(h(`div.log-line.level-${level.toLowerCase()}`, { "data-test": "log-line" },
        h("time.log-time", { title: ms === null ? "" : absolute(ms) }, ms === null ? "" : new Date(ms).toLocaleTimeString(undefined, { hour12: false })),
        h("span.log-level", level),
        h("span.log-attempt", { title: line.workerId || "" }, `#${line.attempt || 0}`),
        h("span.log-message", line.message || "")));
    }
    if (atBottom) logBox.scrollTop = logBox.scrollHeight;
  };

  // --- start ----------------------------------------------------------------------

  setLive("", "");
  get(base).then((answer) => {
    if (closed) return;
    task = answer.task;
    render();
    logs.start();
    if (!isTerminal(task.status)) watch();
    else setLive("final", "");
  }).catch((error) => {
    if (closed) return;
    if (error instanceof ApiError && error.status === 404) {
      fill(root, h("div.crumbs", h("a", { href: "#/tasks" }, "Tasks")),
        h("div.card.notice", { "data-test": "not-found" }, h("h1", "No such task"),
          h("p", `There is no task ${id} in your tenant. It may have passed its retention time.`)));
      return;
    }
    reportError(error);
    toast("The task could not be read; the page will not update.");
  });

  return () => {
    closed = true;
    dependencies.stop();
    if (stream) stream.abort();
    stream = null;
    clearTimeout(logs.timer);
    for (const timer of timers) clearTimeout(timer);
  };
}
