// Task types: their configuration, edit (PUT), pause/resume, delete. The
// task-type routes are the admin's; other roles see why the page is empty.

import { del, enc, get, post, put } from "./api.js";
import { dialog, empty, field, fill, h, notify, poller, reportError, timeAgo } from "./ui.js";

const NUMBERS = [
  ["timeoutSeconds", "Timeout (s)", "per attempt, 1–86400", 30],
  ["maxRetries", "Max retries", "after the first attempt", 3],
  ["retryBackoffMs", "Retry backoff (ms)", "base of the exponential backoff", 1000],
  ["maxConcurrency", "Max concurrency", "running at once, cluster-wide; 0 = no cap", 0],
  ["rateLimitPerSecond", "Rate limit (/s)", "dispatches per second; 0 = none", 0],
  ["retentionHours", "Retention (h)", "finished tasks kept; 0 = the cluster's default", 0],
];

function headersText(headers) {
  return Object.entries(headers || {}).map(([name, value]) => `${name}: ${value}`).join("\n");
}

function parseHeaders(text) {
  const headers = {};
  for (const line of text.split(/\n/)) {
    if (!line.trim()) continue;
    const at = line.indexOf(":");
    if (at <= 0) throw new Error(`Headers: "${line.trim()}" is not "Name: value"`);
    headers[line.slice(0, at).trim()] = line.slice(at + 1).trim();
  }
  return headers;
}

/** The edit form; resolves with the stored config, or null. */
export function editDialog(config) {
  const isNew = !config;
  const current = config || { executor: "local", enabled: true };
  const type = h("input", { name: "taskType", value: current.taskType || "", required: true, readonly: !isNew, "data-test": "edit-type" });
  const executor = h("select", { name: "executor", "data-test": "edit-executor" },
    ["local", "http", "grpc"].map((value) => h("option", { value, selected: (current.executor || "local") === value }, value)));
  const endpoint = h("input", { name: "endpoint", value: current.endpoint || "", placeholder: "handler name, http(s)://… or host:port", "data-test": "edit-endpoint" });
  const numbers = NUMBERS.map(([name, label, hint, fallback]) => [name, h("input", {
    type: "number", name, min: 0, step: 1, value: String(current[name] ?? (isNew ? fallback : 0)), "data-test": `edit-${name}`,
  }), label, hint]);
  const enabled = h("input", { type: "checkbox", name: "enabled", checked: current.enabled !== false && (isNew || !!current.enabled) });
  const headers = h("textarea.mono", { name: "headers", rows: 3, placeholder: "X-Team: mail", value: headersText(current.headers) });
  headers.value = headersText(current.headers);
  return dialog({
    title: isNew ? "New task type" : `Edit ${current.taskType}`,
    confirm: isNew ? "Create" : "Save",
    wide: true,
    body: h("div.form-grid",
      field("Type", type), field("Executor", executor), h("div.span-2", field("Endpoint", endpoint, "local: a handler's name (empty = the type's name)")),
      numbers.map(([, input, label, hint]) => field(label, input, hint)),
      h("div.span-2", field("Headers", headers, "sent with each HTTP call, or as gRPC metadata")),
      h("label.check.span-2", enabled, " Enabled (a disabled type refuses new tasks)")),
    submit: () => {
      const body = {
        taskType: type.value.trim(), executor: executor.value, endpoint: endpoint.value.trim(), enabled: enabled.checked,
        headers: parseHeaders(headers.value),
      };
      for (const [name, input] of numbers) body[name] = Number.parseInt(input.value || "0", 10) || 0;
      return put(`/api/v1/task-types/${enc(body.taskType)}`, body);
    },
  });
}

export function mount(root, route, ctx) {
  const body = h("div.table-wrap");
  const admin = ctx.can("admin");
  const add = admin ? h("button.button.primary", { type: "button", "data-test": "new-type" }, "New type") : null;
  fill(root, h("div.page-head", h("h1", "Task types"), h("div.spacer"), add), h("div.card", body));
  if (!admin) {
    fill(body, h("div.notice-body", { "data-test": "admin-only" },
      h("p", "Task types and their configuration are read and changed by admins."),
      h("p.muted", `You are signed in as ${ctx.me.role || "a viewer"}. Tasks of every type are on the `, h("a", { href: "#/tasks" }, "Tasks"), " page.")));
    return null;
  }

  let lastSignature = "";
  const refresh = () => {
    lastSignature = "";
    poll.now();
  };
  const act = async (what, request) => {
    try {
      await request();
      notify(what);
      refresh();
    } catch (error) {
      reportError(error, what);
    }
  };

  const render = (configs) => {
    configs.sort((a, b) => a.taskType.localeCompare(b.taskType));
    const signature = JSON.stringify(configs);
    if (signature === lastSignature) return;
    lastSignature = signature;
    if (!configs.length) {
      fill(body, empty("No task types yet. Create one, then submit tasks of it."));
      return;
    }
    fill(body, h("table.table.types", { "data-test": "task-types" },
      h("thead", h("tr", h("th", "Type"), h("th", "Executor"), h("th", "Endpoint"), h("th.num", "Timeout"), h("th.num", "Retries"),
        h("th.num", "Backoff"), h("th.num", "Concurrency"), h("th.num", "Rate / s"), h("th.num", "Retention"), h("th", "State"), h("th", "Updated"), h("th"))),
      h("tbody", configs.map((config) => {
        const type = config.taskType;
        const state = [];
        if (config.paused) state.push(h("span.tag.paused", { "data-test": "paused" }, "paused"));
        state.push(config.enabled ? h("span.tag.ok", "enabled") : h("span.tag.off", "disabled"));
        return h("tr", { "data-test": "type-row", dataset: { type, paused: config.paused ? "true" : "false" } },
          h("td", h("a", { href: `#/tasks?type=${enc(type)}`, title: "Tasks of this type" }, h("b", type))),
          h("td", h("span.tag", config.executor || "local")),
          h("td.mono.small.ellipsis", { title: config.endpoint || "" }, config.endpoint || h("span.muted", "–")),
          h("td.num", `${config.timeoutSeconds || 0} s`),
          h("td.num", String(config.maxRetries || 0)),
          h("td.num", `${config.retryBackoffMs || 0} ms`),
          h("td.num", config.maxConcurrency ? String(config.maxConcurrency) : h("span.muted", "–")),
          h("td.num", config.rateLimitPerSecond ? String(config.rateLimitPerSecond) : h("span.muted", "–")),
          h("td.num", config.retentionHours ? `${config.retentionHours} h` : h("span.muted", "default")),
          h("td", state),
          h("td", timeAgo(config.updatedAt)),
          h("td.row-actions",
            h("button.button.small", { type: "button", "data-test": "edit", onclick: () => editDialog(config).then((saved) => saved && (notify(`${type} saved`), refresh())).catch(reportError) }, "Edit"),
            config.paused
              ? h("button.button.small", { type: "button", "data-test": "resume", onclick: () => act(`${type} resumed`, () => post(`/api/v1/task-types/${enc(type)}/resume`, {})) }, "Resume")
              : h("button.button.small", { type: "button", "data-test": "pause", onclick: () => act(`${type} paused`, () => post(`/api/v1/task-types/${enc(type)}/pause`, {})) }, "Pause"),
            h("button.button.small.danger-ghost", {
              type: "button", "data-test": "delete",
              onclick: () => dialog({
                title: `Delete ${type}?`, danger: true, confirm: "Delete",
                body: h("p", "The configuration goes; the server refuses while the type has unfinished tasks."),
                submit: () => del(`/api/v1/task-types/${enc(type)}`),
              }).then((done) => done && (notify(`${type} deleted`), refresh())).catch(reportError),
            }, "Delete")));
      }))));
  };

  const poll = poller(async (signal) => render((await get("/api/v1/task-types", { signal })).configs || []), 10000);
  add.addEventListener("click", () => editDialog(null).then((saved) => saved && (notify(`${saved.taskType || "Type"} created`), refresh())).catch(reportError));
  return () => poll.stop();
}
