// Tasks: filter by status (several), type, worker, schedule and creation time,
// or list a task's dependents (#/tasks?dependsOn=<id>); find a task by id or idempotency key; paged with the server's page tokens; live
// (the page on screen is read again every second while the tab is visible).

import { enc, get, post, query } from "./api.js";
import {
  STATUSES, dialog, empty, field, fill, fmtDuration, h, notify, parseTime, poller, reportError, shortId, statusBadge,
  timeAgo, isTerminal,
} from "./ui.js";

const PAGE_SIZE = 50;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const SINCE = [
  ["", "any time"], ["15m", "last 15 min"], ["1h", "last hour"], ["24h", "last 24 h"], ["7d", "last 7 days"],
];
const SINCE_MS = { "15m": 15 * 60_000, "1h": 3_600_000, "24h": 86_400_000, "7d": 7 * 86_400_000 };

function taskRow(task) {
  const started = parseTime(task.startedAt);
  const finished = parseTime(task.finishedAt);
  const status = task.status || "";
  let duration = "–";
  if (started !== null && finished !== null && finished >= started) duration = fmtDuration(finished - started);
  else if (started !== null && !isTerminal(status)) duration = `${fmtDuration(Date.now() - started)}…`;
  const row = h("tr.clickable", { "data-test": "task-row", dataset: { taskId: task.taskId, status: status.replace(/^TASK_STATUS_/, "") } },
    h("td", h("a.mono", { href: `#/tasks/${enc(task.taskId)}`, title: task.taskId }, shortId(task.taskId))),
    h("td", task.taskType || "–"),
    h("td", statusBadge(status)),
    h("td", task.priority === "PRIORITY_HIGH" ? h("span.tag.high", "high") : h("span.muted", "normal")),
    h("td.num", String(task.attempt || 0)),
    h("td.mono.small.ellipsis", { title: task.workerId || "" }, task.workerId || "–"),
    h("td", timeAgo(task.createdAt)),
    h("td", timeAgo(task.finishedAt || task.updatedAt)),
    h("td.num", duration));
  row.addEventListener("click", (event) => {
    if (event.target.closest("a, button")) return;
    location.hash = `#/tasks/${enc(task.taskId)}`;
  });
  return row;
}

/** A payload field's map; a bad one fails with a message that names the field. */
export function readPayload(field) {
  try {
    return parsePayload(field.value);
  } catch (error) {
    throw new Error(`Payload: ${error.message}`);
  }
}

/** An arguments field's JSON object (typed args), or undefined when empty. */
function readArgs(field) {
  const text = field.value.trim();
  if (!text) return undefined;
  let value;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new Error(`Arguments: ${error.message}`);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw new Error('Arguments: a JSON object, e.g. {"amount": 42}');
  return value;
}

/** A form's task input: `{ payload }` or `{ args }`, never both (the API refuses both). */
export function readInput(payloadField, argsField) {
  const payload = readPayload(payloadField);
  const args = readArgs(argsField);
  if (args === undefined) return { payload };
  if (Object.keys(payload).length) throw new Error("Fill Payload or Arguments, not both");
  return { args };
}

/** The arguments textarea of a create or edit form, holding `args` when given. */
export function argsField(test, args) {
  const field = h("textarea.mono", { name: "args", rows: 3, placeholder: '{"amount": 42, "items": [1, 2]}', "data-test": test });
  field.value = args ? JSON.stringify(args, null, 2) : "";
  return field;
}

/** key=value lines (or a JSON object of strings) to a payload map. */
function parsePayload(text) {
  const trimmed = text.trim();
  if (!trimmed) return {};
  if (trimmed.startsWith("{")) {
    const value = JSON.parse(trimmed);
    const payload = {};
    for (const [key, item] of Object.entries(value)) payload[key] = typeof item === "string" ? item : JSON.stringify(item);
    return payload;
  }
  const payload = {};
  for (const line of trimmed.split(/\n/)) {
    if (!line.trim()) continue;
    const at = line.indexOf("=");
    if (at <= 0) throw new Error(`"${line.trim()}" is not key=value`);
    payload[line.slice(0, at).trim()] = line.slice(at + 1);
  }
  return payload;
}

export async function createTaskDialog(types) {
  const list = h("datalist#new-task-types", [...types].sort().map((type) => h("option", { value: type })));
  const type = h("input", { name: "taskType", required: true, list: "new-task-types", autocomplete: "off", "data-test": "new-type" });
  const payload = h("textarea.mono", { name: "payload", rows: 4, placeholder: "key=value, one per line (or a JSON object)", "data-test": "new-payload" });
  const args = argsField("new-args");
  const key = h("input", { name: "idempotencyKey", autocomplete: "off" });
  const high = h("input", { type: "checkbox", name: "high" });
  const created = await dialog({
    title: "New task",
    confirm: "Create",
    body: [list, field("Type", type), field("Payload", payload),
      field("Arguments", args, "optional: typed arguments as a JSON object, instead of a payload"), field("Idempotency key", key, "optional; the same key returns the first task"),
      h("label.check", high, " High priority")],
    submit: async () => {
      const body = { taskType: type.value.trim(), ...readInput(payload, args) };
      if (key.value) body.idempotencyKey = key.value;
      if (high.checked) body.priority = "PRIORITY_HIGH";
      return post("/api/v1/tasks", body);
    },
  });
  if (created && created.task) {
    notify(created.deduplicated ? "That key already made a task: here it is" : "Task created");
    location.hash = `#/tasks/${enc(created.task.taskId)}`;
  }
}

export function mount(root, route, ctx) {
  const params = route.params;
  const state = {
    statuses: new Set((params.get("status") || "").split(",").map((s) => s.trim().toUpperCase()).filter((s) => STATUSES.includes(s))),
    type: params.get("type") || "",
    worker: params.get("worker") || "",
    schedule: params.get("schedule") || "",
    dependsOn: params.get("dependsOn") || "", // a task: list the tasks that depend on it
    since: params.get("since") || "",
    search: params.get("q") || "",
    tokens: [""], // the token of each page shown so far; the last is on screen
    next: "",
    live: true,
  };
  const knownTypes = new Set();
  const typeList = h("datalist#task-types-list");
  const workerList = h("datalist#task-workers-list");

  const chips = h("div.chips", { role: "group", "aria-label": "Status" });
  const drawChips = () => fill(chips, STATUSES.map((name) => {
    const on = state.statuses.has(name);
    const chip = h(`button.chip.status-${name.toLowerCase()}${on ? ".on" : ""}`, { type: "button", "aria-pressed": on ? "true" : "false", "data-test": `filter-${name}` }, name.toLowerCase());
    chip.addEventListener("click", () => {
      if (state.statuses.has(name)) state.statuses.delete(name);
      else state.statuses.add(name);
      drawChips();
      changed();
    });
    return chip;
  }));
  drawChips();

  const typeInput = h("input", { type: "search", value: state.type, placeholder: "any type", list: "task-types-list", "aria-label": "Task type", "data-test": "filter-type" });
  const workerInput = h("input", { type: "search", value: state.worker, placeholder: "any worker", list: "task-workers-list", "aria-label": "Worker", "data-test": "filter-worker" });
  const scheduleInput = h("input", { type: "search", value: state.schedule, placeholder: "any schedule", "aria-label": "Schedule", "data-test": "filter-schedule" });
  const sinceSelect = h("select", { "aria-label": "Created", "data-test": "filter-since" },
    SINCE.map(([value, label]) => h("option", { value, selected: value === state.since }, label)));
  const searchInput = h("input", { type: "search", value: state.search, placeholder: "task id or idempotency key", "aria-label": "Search", "data-test": "search" });
  const liveToggle = h("button.button.ghost.small", { type: "button", title: "Pause or resume the live refresh", "data-test": "live-toggle" });
  const drawLive = () => {
    liveToggle.textContent = state.live ? "❚❚ Pause" : "▶ Live";
    liveToggle.classList.toggle("on", state.live);
  };
  drawLive();

  const note = h("p.filter-note", { hidden: true });
  const parentFilter = h("p.filter-pill", { "data-test": "filter-depends-on" });
  const drawParent = () => {
    parentFilter.hidden = !state.dependsOn;
    fill(parentFilter, state.dependsOn
      ? ["Tasks that depend on ", h("a.mono", { href: `#/tasks/${enc(state.dependsOn)}`, title: state.dependsOn }, shortId(state.dependsOn)),
        h("button.button.ghost.small", { type: "button", title: "List every task", onclick: () => { state.dependsOn = ""; changed(); } }, "✕")]
      : null);
  };
  drawParent();
  const body = h("div.table-wrap");
  const older = h("button.button.small", { type: "button", "data-test": "older" }, "Older →");
  const newer = h("button.button.small", { type: "button", "data-test": "newer" }, "← Newer");
  const pageInfo = h("span.muted.small");
  const newTask = ctx.can("submitter") ? h("button.button.primary", { type: "button", "data-test": "new-task" }, "New task") : null;

  fill(root,
    h("div.page-head", h("h1", "Tasks"), h("span.live-dot", { hidden: false }, "live"), h("div.spacer"), liveToggle, newTask),
    h("div.card.filters",
      chips,
      h("div.filter-row",
        field("Type", typeInput), field("Worker", workerInput), field("Schedule", scheduleInput), field("Created", sinceSelect),
        h("label.field.grow", h("span.field-label", "Find"), searchInput),
        h("button.button.ghost.small.clear", { type: "button", onclick: () => reset() }, "Clear filters")),
      parentFilter, note, typeList, workerList),
    h("div.card", body, h("div.pager", newer, pageInfo, older)));

  const reset = () => {
    state.statuses.clear();
    state.dependsOn = "";
    typeInput.value = workerInput.value = scheduleInput.value = searchInput.value = "";
    sinceSelect.value = "";
    drawChips();
    changed();
  };

  let poll = null;
  const restart = () => {
    if (poll) poll.stop();
    poll = null;
    if (state.live) poll = poller(load, 1000);
    else load(new AbortController().signal).catch((error) => reportError(error));
  };

  const changed = () => {
    state.type = typeInput.value.trim();
    state.worker = workerInput.value.trim();
    state.schedule = scheduleInput.value.trim();
    state.since = sinceSelect.value;
    state.search = searchInput.value.trim();
    state.tokens = [""];
    drawParent();
    ctx.setParams({
      status: [...state.statuses].join(","), type: state.type, worker: state.worker, schedule: state.schedule, dependsOn: state.dependsOn,
      since: state.since, q: state.search,
    });
    lastSignature = "";
    restart();
  };
  let typing = 0;
  const debounced = () => {
    clearTimeout(typing);
    typing = setTimeout(changed, 350);
  };
  for (const input of [typeInput, workerInput, scheduleInput, searchInput]) {
    input.addEventListener("input", debounced);
    input.addEventListener("change", () => {
      clearTimeout(typing);
      changed();
    });
  }
  sinceSelect.addEventListener("change", changed);
  liveToggle.addEventListener("click", () => {
    state.live = !state.live;
    drawLive();
    root.querySelector(".live-dot").hidden = !state.live;
    if (state.live) restart();
    else if (poll) {
      poll.stop();
      poll = null;
    }
  });
  older.addEventListener("click", () => {
    if (!state.next) return;
    state.tokens.push(state.next);
    lastSignature = "";
    restart();
  });
  newer.addEventListener("click", () => {
    if (state.tokens.length < 2) return;
    state.tokens.pop();
    lastSignature = "";
    restart();
  });
  if (newTask) newTask.addEventListener("click", () => createTaskDialog(knownTypes).catch((error) => reportError(error)));

  let lastSignature = "";
  const show = (tasks, { next = "", message = "" } = {}) => {
    for (const task of tasks) if (task.taskType && !knownTypes.has(task.taskType)) {
      knownTypes.add(task.taskType);
      typeList.append(h("option", { value: task.taskType }));
    }
    state.next = next;
    older.disabled = !next;
    newer.disabled = state.tokens.length < 2;
    pageInfo.textContent = tasks.length ? `page ${state.tokens.length} · ${tasks.length} task${tasks.length === 1 ? "" : "s"}` : "";
    const signature = message + tasks.map((t) => `${t.taskId}:${t.status}:${t.updatedAt}:${t.attempt}`).join("|");
    if (signature === lastSignature) return;
    lastSignature = signature;
    if (!tasks.length) {
      fill(body, empty(message || "No tasks match these filters."));
      return;
    }
    fill(body, h("table.table.tasks", { "data-test": "tasks" },
      h("thead", h("tr", h("th", "Task"), h("th", "Type"), h("th", "Status"), h("th", "Priority"), h("th.num", "Attempt"),
        h("th", "Worker"), h("th", "Created"), h("th", "Updated"), h("th.num", "Took"))),
      h("tbody", tasks.map(taskRow))));
  };

  const setNote = (text) => {
    note.textContent = text || "";
    note.hidden = !text;
  };

  async function load(signal) {
    const search = state.search;
    if (search && UUID.test(search)) {
      setNote("");
      try {
        const answer = await get(`/api/v1/tasks/${enc(search.toLowerCase())}`, { signal });
        show([answer.task]);
      } catch (error) {
        if (error.status !== 404) throw error;
        show([], { message: `No task ${search} (or not in your tenant).` });
      }
      return;
    }
    if (search && !state.type) {
      setNote("");
      show([], { message: "An idempotency key is unique within its type: choose a type to find a task by key, or paste a task id." });
      return;
    }
    const params = {
      statuses: [...state.statuses].map((name) => `TASK_STATUS_${name}`),
      taskType: state.type,
      workerId: state.worker,
      scheduleId: state.schedule,
      dependsOn: state.dependsOn,
      idempotencyKey: search,
      pageSize: PAGE_SIZE,
      pageToken: state.tokens[state.tokens.length - 1],
    };
    let since = SINCE_MS[state.since];
    if (state.worker && !state.statuses.size && !state.type && !state.schedule && !state.dependsOn && !since) {
      since = SINCE_MS["24h"];
      setNote("A worker filter reads a range another filter chooses: showing the last 24 hours (choose a status, type, schedule or time to change it).");
    } else {
      setNote("");
    }
    if (since) params.createdAfter = new Date(Date.now() - since).toISOString();
    const answer = await get(`/api/v1/tasks${query(params)}`, { signal });
    show(answer.tasks || [], { next: answer.nextPageToken || "" });
  }

  // Worker and type suggestions: one read each, at mount.
  get("/api/v1/stats").then((stats) => {
    ctx.noteNode(stats.nodeId);
    for (const worker of stats.workers || []) workerList.append(h("option", { value: worker.workerId }, worker.nodeId));
  }).catch(() => {});
  if (ctx.can("admin")) {
    get("/api/v1/task-types").then((answer) => {
      for (const config of answer.configs || []) if (!knownTypes.has(config.taskType)) {
        knownTypes.add(config.taskType);
        typeList.append(h("option", { value: config.taskType }));
      }
    }).catch(() => {});
  }

  restart();
  return () => {
    clearTimeout(typing);
    if (poll) poll.stop();
  };
}
