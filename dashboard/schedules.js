// Schedules: cron templates the leader turns into tasks. The list (next and
// last fire, the last task, policies), pause/resume, trigger, delete, and an
// editor that shows the expression's next five fire times, computed by the
// node's own parser (GET /api/v1/cron-preview), before anything is saved.
// The schedule routes are the admin's; other roles see why the page is empty.

import { del, enc, get, post, put, query } from "./api.js";
import { absolute, dialog, empty, field, fill, h, notify, parseTime, poller, relative, reportError, taskLink, timeAgo } from "./ui.js";
import { argsField, readInput } from "./tasks.js";

const MISFIRE = [
  ["MISFIRE_RUN_ONCE", "run once", "missed fire times get one task, then on from now"],
  ["MISFIRE_SKIP", "skip", "missed fire times get none"],
  ["MISFIRE_RUN_ALL", "run all", "one task per missed fire time (at most 100)"],
];
const OVERLAP = [
  ["OVERLAP_ALLOW", "allow", "fire even while the previous task is unfinished"],
  ["OVERLAP_SKIP", "skip", "no task while the previous one is unfinished"],
  ["OVERLAP_CANCEL_PREVIOUS", "cancel previous", "cancel the previous task if unfinished, then fire"],
];
const PREVIEW_COUNT = 5;

/** A fire time as the schedule's zone reads it ("Sat, 28 Mar 2026, 02:30:00 CET"); UTC when the zone is unknown here. */
export function zoneTime(ms, zone) {
  const options = { weekday: "short", year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit", timeZoneName: "short", hour12: false };
  try {
    return new Intl.DateTimeFormat(undefined, { ...options, timeZone: zone || "UTC" }).format(new Date(ms));
  } catch {
    return new Intl.DateTimeFormat(undefined, { ...options, timeZone: "UTC" }).format(new Date(ms));
  }
}

function payloadText(payload) {
  return Object.entries(payload || {}).map(([key, value]) => `${key}=${value}`).join("\n");
}

/**
 * The next fire times of `cron` in `zone` under `box`, read from the node as
 * the user types (debounced; a newer answer wins). A refusal names the field
 * and is shown under the input it is about (the expression or the zone).
 */
function cronPreview(box, cronError, zoneError) {
  let timer = 0;
  let asked = 0;
  let controller = null;
  const show = (cron, zone) => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const mine = ++asked;
      if (controller) controller.abort();
      controller = new AbortController();
      cronError.hidden = zoneError.hidden = true;
      if (!cron.trim()) {
        box.dataset.state = "empty";
        fill(box, h("p.muted.small", "Type an expression to see when it fires."));
        return;
      }
      box.dataset.state = "loading";
      try {
        const answer = await get(`/api/v1/cron-preview${query({ cron: cron.trim(), timeZone: zone.trim(), count: PREVIEW_COUNT })}`, { signal: controller.signal });
        if (mine !== asked) return;
        const times = (answer.fireTimes || []).map(parseTime).filter((ms) => ms !== null);
        box.dataset.state = "ok";
        fill(box, times.length
          ? h("ol.fire-times", { "data-test": "preview-times" }, times.map((ms) => h("li", { "data-test": "preview-time", dataset: { ts: String(ms) } },
            h("span.mono", zoneTime(ms, zone.trim())), " ", h("span.muted", `(${relative(ms)})`))))
          : h("p.muted.small", "It never fires in the next ten years."));
      } catch (error) {
        if (error.name === "AbortError" || mine !== asked) return;
        box.dataset.state = "refused";
        fill(box, h("p.muted.small", "No fire times: the node refuses this expression."));
        const target = /time zone/.test(error.detail || "") ? zoneError : cronError;
        target.textContent = error.detail || error.message;
        target.hidden = false;
      }
    }, 250);
  };
  return { show, stop: () => { clearTimeout(timer); if (controller) controller.abort(); } };
}

/** The create/edit form; resolves with the stored schedule, or null. */
export function editDialog(schedule, types) {
  const isNew = !schedule;
  const current = schedule || { misfire: "MISFIRE_RUN_ONCE", overlap: "OVERLAP_ALLOW" };
  const id = h("input", { name: "scheduleId", value: current.scheduleId || "", required: true, readonly: !isNew, pattern: "[A-Za-z0-9_.\\-]{1,64}", autocomplete: "off", "data-test": "edit-id" });
  const cron = h("input.mono", { name: "cron", value: current.cron || "", required: true, autocomplete: "off", spellcheck: "false", placeholder: "30 2 * * *  or  @every 10m", "data-test": "edit-cron" });
  const zones = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];
  const zoneList = h("datalist#schedule-zones", zones.map((zone) => h("option", { value: zone })));
  const zone = h("input", { name: "timeZone", value: current.timeZone || "", list: "schedule-zones", autocomplete: "off", placeholder: "UTC", "data-test": "edit-zone" });
  const typeList = h("datalist#schedule-types", [...types].sort().map((type) => h("option", { value: type })));
  const type = h("input", { name: "taskType", value: current.taskType || "", required: true, list: "schedule-types", autocomplete: "off", "data-test": "edit-type" });
  const payload = h("textarea.mono", { name: "payload", rows: 3, placeholder: "key=value, one per line (or a JSON object)", "data-test": "edit-payload" });
  payload.value = payloadText(current.payload);
  const args = argsField("edit-args", current.args);
  const misfire = h("select", { name: "misfire", "data-test": "edit-misfire" },
    MISFIRE.map(([value, label, hint]) => h("option", { value, title: hint, selected: (current.misfire || "MISFIRE_RUN_ONCE") === value }, label)));
  const overlap = h("select", { name: "overlap", "data-test": "edit-overlap" },
    OVERLAP.map(([value, label, hint]) => h("option", { value, title: hint, selected: (current.overlap || "OVERLAP_ALLOW") === value }, label)));
  const timeout = h("input", { type: "number", name: "timeoutSeconds", min: 1, step: 1, value: current.timeoutSeconds ? String(current.timeoutSeconds) : "", placeholder: "the type's" });
  const retries = h("input", { type: "number", name: "maxRetries", min: 0, step: 1, value: current.maxRetries !== undefined ? String(current.maxRetries) : "", placeholder: "the type's" });
  const high = h("input", { type: "checkbox", name: "high", checked: current.priority === "PRIORITY_HIGH" });
  const paused = h("input", { type: "checkbox", name: "paused", checked: !!current.paused, "data-test": "edit-paused" });
  const cronError = h("span.field-error", { hidden: true, role: "alert", "data-test": "cron-error" });
  const zoneError = h("span.field-error", { hidden: true, role: "alert", "data-test": "zone-error" });
  const previewBox = h("div.cron-preview", { "data-test": "cron-preview" });
  const preview = cronPreview(previewBox, cronError, zoneError);
  const refresh = () => preview.show(cron.value, zone.value);
  cron.addEventListener("input", refresh);
  zone.addEventListener("input", refresh);
  zone.addEventListener("change", refresh);
  refresh();

  const optionalNumber = (input, name) => {
    const text = input.value.trim();
    if (!text) return undefined;
    const value = Number(text);
    if (!Number.isInteger(value)) throw new Error(`${name} must be a whole number`);
    return value;
  };
  return dialog({
    title: isNew ? "New schedule" : `Edit ${current.scheduleId}`,
    confirm: isNew ? "Create" : "Save",
    wide: true,
    body: h("div.form-grid",
      zoneList, typeList,
      field("Schedule id", id, "A-Z a-z 0-9 _ . -, up to 64"),
      field("Task type", type),
      h("div.span-2", field("Cron", cron, "minute hour day-of-month month day-of-week (or seconds first); @daily, @every 30s …"), cronError),
      h("div.span-2", field("Time zone", zone, "IANA name, e.g. Europe/Berlin; empty = UTC"), zoneError),
      h("div.span-2.preview-card", h("span.field-label", `Next ${PREVIEW_COUNT} fire times`), previewBox),
      h("div.span-2", field("Payload", payload)),
      h("div.span-2", field("Arguments", args, "optional: typed arguments of its tasks as a JSON object, instead of a payload")),
      field("Misfire", misfire, "fire times missed while paused or down"), field("Overlap", overlap, "while the previous task is unfinished"),
      field("Timeout (s)", timeout, "per attempt; empty = the type's"), field("Max retries", retries, "empty = the type's"),
      h("label.check", high, " High priority"), h("label.check", paused, " Paused (does not fire)")),
    submit: async () => {
      const body = {
        scheduleId: id.value.trim(), cron: cron.value.trim(), timeZone: zone.value.trim(), taskType: type.value.trim(), ...readInput(payload, args),
        misfire: misfire.value, overlap: overlap.value, paused: paused.checked,
      };
      if (high.checked) body.priority = "PRIORITY_HIGH";
      const seconds = optionalNumber(timeout, "Timeout");
      const tries = optionalNumber(retries, "Max retries");
      if (seconds !== undefined) body.timeoutSeconds = seconds;
      if (tries !== undefined) body.maxRetries = tries;
      try {
        return await put(`/api/v1/schedules/${enc(body.scheduleId)}`, body);
      } catch (error) {
        // The server's refusal names the field: show it under that field too.
        if (/cron|field|@every|time zone/.test(error.detail || "")) {
          const target = /time zone/.test(error.detail) ? zoneError : cronError;
          target.textContent = error.detail;
          target.hidden = false;
        }
        throw error;
      }
    },
  }).finally(() => preview.stop());
}

function policyTags(schedule) {
  const tags = [];
  if (schedule.misfire && schedule.misfire !== "MISFIRE_RUN_ONCE") {
    const [, label, hint] = MISFIRE.find(([value]) => value === schedule.misfire) || [null, schedule.misfire, ""];
    tags.push(h("span.tag", { title: `Misfire: ${hint}` }, `misfire ${label}`));
  }
  if (schedule.overlap === "OVERLAP_SKIP") tags.push(h("span.tag", { title: "Overlap: no task while the previous one is unfinished" }, "no overlap"));
  if (schedule.overlap === "OVERLAP_CANCEL_PREVIOUS") tags.push(h("span.tag", { title: "Overlap: a fire cancels the previous task if unfinished" }, "cancels previous"));
  if (schedule.priority === "PRIORITY_HIGH") tags.push(h("span.tag.high", "high"));
  return tags.length ? tags : h("span.muted", "–");
}

export function mount(root, route, ctx) {
  const body = h("div.table-wrap");
  const admin = ctx.can("admin");
  const add = admin ? h("button.button.primary", { type: "button", "data-test": "new-schedule" }, "New schedule") : null;
  fill(root, h("div.page-head", h("h1", "Schedules"), h("div.spacer"), add), h("div.card", body));
  if (!admin) {
    fill(body, h("div.notice-body", { "data-test": "admin-only" },
      h("p", "Schedules are read and changed by admins."),
      h("p.muted", `You are signed in as ${ctx.me.role || "a viewer"}. Tasks a schedule created are on the `, h("a", { href: "#/tasks" }, "Tasks"),
        " page (filter by schedule).")));
    return null;
  }

  const focus = route.params.get("id") || "";
  const types = new Set();
  get("/api/v1/task-types").then((answer) => {
    for (const config of answer.configs || []) types.add(config.taskType);
  }).catch(() => {});

  let lastSignature = "";
  const refresh = () => {
    lastSignature = "";
    poll.now();
  };
  const act = async (what, request) => {
    try {
      const answer = await request();
      notify(what);
      refresh();
      return answer;
    } catch (error) {
      reportError(error, what);
      return null;
    }
  };
  const edit = (schedule) => editDialog(schedule, types)
    .then((saved) => saved && (notify(`${saved.scheduleId || "Schedule"} ${schedule ? "saved" : "created"}`), refresh()))
    .catch(reportError);

  const render = (schedules) => {
    schedules.sort((a, b) => a.scheduleId.localeCompare(b.scheduleId));
    const signature = JSON.stringify(schedules);
    if (signature === lastSignature) return;
    lastSignature = signature;
    if (!schedules.length) {
      fill(body, empty("No schedules yet. Create one: the leader then creates its tasks at each fire time."));
      return;
    }
    fill(body, h("table.table.schedules", { "data-test": "schedules" },
      h("thead", h("tr", h("th", "Schedule"), h("th", "Cron"), h("th", "Zone"), h("th", "Type"), h("th", "Next fire"), h("th", "Last fire"),
        h("th", "Last task"), h("th", "Policies"), h("th", "State"), h("th"))),
      h("tbody", schedules.map((schedule) => {
        const sid = schedule.scheduleId;
        const next = parseTime(schedule.nextFireAt);
        const row = h("tr", { "data-test": "schedule-row", dataset: { schedule: sid, paused: schedule.paused ? "true" : "false" }, class: sid === focus ? "focus" : "" },
          h("td", h("b", sid)),
          h("td.mono", { "data-test": "schedule-cron" }, schedule.cron),
          h("td", schedule.timeZone || h("span.muted", "UTC")),
          h("td", h("a", { href: `#/tasks?type=${enc(schedule.taskType)}`, title: "Tasks of this type" }, schedule.taskType)),
          h("td", { "data-test": "next-fire" }, schedule.paused ? h("span.muted", { title: next !== null ? `pending: ${absolute(next)}` : "" }, "paused")
            : next !== null ? h("time", { datetime: new Date(next).toISOString(), title: `${zoneTime(next, schedule.timeZone)} · ${absolute(next)}`, dataset: { ts: String(next) } }, relative(next))
              : h("span.muted", "–")),
          h("td", timeAgo(schedule.lastFireAt)),
          h("td", { "data-test": "last-task" }, schedule.lastTaskId ? taskLink(schedule.lastTaskId) : h("span.muted", "–")),
          h("td", policyTags(schedule)),
          h("td", schedule.paused ? h("span.tag.paused", { "data-test": "paused" }, "paused") : h("span.tag.ok", "active")),
          h("td.row-actions",
            h("a.button.small.ghost", { href: `#/tasks?schedule=${enc(sid)}`, "data-test": "schedule-tasks", title: "Every task of this schedule" }, "Tasks"),
            h("button.button.small", { type: "button", "data-test": "edit", onclick: () => edit(schedule) }, "Edit"),
            schedule.paused
              ? h("button.button.small", { type: "button", "data-test": "resume", onclick: () => act(`${sid} resumed`, () => post(`/api/v1/schedules/${enc(sid)}/resume`, {})) }, "Resume")
              : h("button.button.small", { type: "button", "data-test": "pause", onclick: () => act(`${sid} paused`, () => post(`/api/v1/schedules/${enc(sid)}/pause`, {})) }, "Pause"),
            h("button.button.small", {
              type: "button", "data-test": "trigger", title: "Create a task of it now (whatever its pause or overlap policy)",
              onclick: () => act(`${sid} triggered`, () => post(`/api/v1/schedules/${enc(sid)}/trigger`, {})),
            }, "Trigger"),
            h("button.button.small.danger-ghost", {
              type: "button", "data-test": "delete",
              onclick: () => dialog({
                title: `Delete ${sid}?`, danger: true, confirm: "Delete",
                body: h("p", "The schedule stops firing and goes; the tasks it created stay."),
                submit: () => del(`/api/v1/schedules/${enc(sid)}`),
              }).then((done) => done && (notify(`${sid} deleted`), refresh())).catch(reportError),
            }, "Delete")));
        return row;
      }))));
  };

  const poll = poller(async (signal) => render((await get("/api/v1/schedules", { signal })).schedules || []), 5000);
  add.addEventListener("click", () => edit(null));
  return () => poll.stop();
}
