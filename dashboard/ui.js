// DOM helpers, formatting, status badges, toasts, dialogs and polling.
// Every value from the server goes into the page as text (never innerHTML).

/** h("div.card#x", {attrs}, ...children): an element; children may be strings, nodes, arrays, null. */
export function h(spec, attrs, ...children) {
  const match = /^([a-z0-9-]+)?((?:[.#][\w-]+)*)$/i.exec(spec);
  const tag = (match && match[1]) || "div";
  const element = document.createElement(tag);
  if (match && match[2]) {
    for (const part of match[2].match(/[.#][\w-]+/g)) {
      if (part[0] === ".") element.classList.add(part.slice(1));
      else element.id = part.slice(1);
    }
  }
  if (attrs && (typeof attrs !== "object" || attrs instanceof Node || Array.isArray(attrs))) {
    children.unshift(attrs);
    attrs = null;
  }
  if (attrs) {
    for (const [name, value] of Object.entries(attrs)) {
      if (value === undefined || value === null || value === false) continue;
      if (name.startsWith("on") && typeof value === "function") element.addEventListener(name.slice(2), value);
      else if (name === "class") element.className = value;
      else if (name === "dataset") Object.assign(element.dataset, value);
      else if (name === "value") element.value = value;
      else if (name === "checked") element.checked = !!value;
      else element.setAttribute(name, value === true ? "" : String(value));
    }
  }
  append(element, children);
  return element;
}

function append(parent, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(parent, child);
    else parent.append(child instanceof Node ? child : String(child));
  }
}

export function clear(element) {
  while (element.firstChild) element.firstChild.remove();
  return element;
}

/** Replaces an element's children. */
export function fill(element, ...children) {
  clear(element);
  append(element, children);
  return element;
}

// --- values in the proto JSON mapping -----------------------------------------

/** int64 fields come as strings and default values are omitted: a number either way. */
export const num = (value) => {
  const n = Number(value ?? 0);
  return Number.isFinite(n) ? n : 0;
};

/** RFC 3339 (microseconds allowed) to epoch milliseconds, or null. */
export function parseTime(text) {
  if (!text) return null;
  const trimmed = String(text).replace(/(\.\d{3})\d+/, "$1");
  const ms = Date.parse(trimmed);
  return Number.isFinite(ms) ? ms : null;
}

export const STATUSES = [
  "PENDING", "QUEUED", "SCHEDULED", "RUNNING", "RETRYING", "WAITING", "SUCCEEDED", "FAILED", "TIMEOUT", "CANCELLED",
];
const TERMINAL = new Set(["SUCCEEDED", "FAILED", "TIMEOUT", "CANCELLED"]);

/** "TASK_STATUS_FAILED" (or "FAILED", or missing) to "FAILED". */
export function shortStatus(status) {
  if (!status) return "UNSPECIFIED";
  return String(status).replace(/^TASK_STATUS_/, "");
}

export const isTerminal = (status) => TERMINAL.has(shortStatus(status));
export const isRetryable = (status) => ["FAILED", "TIMEOUT", "CANCELLED"].includes(shortStatus(status));

export function statusBadge(status) {
  const name = shortStatus(status);
  return h("span", { class: `badge status-${name.toLowerCase()}`, "data-status": name, title: `TASK_STATUS_${name}` }, name.toLowerCase());
}

// --- formatting -----------------------------------------------------------------

/** JSON text indented for reading; any other text as it is. */
export function pretty(text) {
  if (!text) return text;
  const trimmed = text.trim();
  if (!(trimmed.startsWith("{") || trimmed.startsWith("["))) return text;
  try {
    return JSON.stringify(JSON.parse(trimmed), null, 2);
  } catch {
    return text;
  }
}

const integer = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
const decimal = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });
export const fmtInt = (value) => integer.format(num(value));
export const fmtNum = (value) => decimal.format(num(value));

export function fmtMs(ms) {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return "–";
  if (ms < 1) return `${ms.toFixed(2)} ms`;
  if (ms < 1000) return `${ms < 10 ? ms.toFixed(1) : Math.round(ms)} ms`;
  return fmtDuration(ms);
}

export function fmtDuration(ms) {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return "–";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s < 10 ? s.toFixed(1) : Math.round(s)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.round(s % 60)} s`;
  const hours = Math.floor(m / 60);
  if (hours < 48) return `${hours} h ${m % 60} min`;
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
}

export function relative(ms, now = Date.now()) {
  if (ms === null || ms === undefined) return "–";
  const delta = Math.round((now - ms) / 1000);
  const future = delta < 0;
  const s = Math.abs(delta);
  let text;
  if (s < 1) return "now";
  if (s < 60) text = `${s} s`;
  else if (s < 3600) text = `${Math.floor(s / 60)} min`;
  else if (s < 86400 * 2) text = `${Math.floor(s / 3600)} h`;
  else text = `${Math.floor(s / 86400)} d`;
  return future ? `in ${text}` : `${text} ago`;
}

const absoluteFormat = new Intl.DateTimeFormat(undefined, {
  year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit",
});

export function absolute(ms) {
  if (ms === null || ms === undefined) return "";
  const date = new Date(ms);
  return `${absoluteFormat.format(date)} (${date.toISOString()})`;
}

export const clock = (ms) => new Date(ms).toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit", hour12: false });

/** A <time> that reads "3 s ago" (kept fresh by the ticker) with the absolute time on hover. */
export function timeAgo(text) {
  const ms = typeof text === "number" ? text : parseTime(text);
  if (ms === null) return h("span.muted", "–");
  return h("time", { datetime: new Date(ms).toISOString(), title: absolute(ms), dataset: { ts: String(ms) } }, relative(ms));
}

/** Keeps every relative time on the page current (one timer for the page). */
export function startTicker() {
  setInterval(() => {
    const now = Date.now();
    for (const element of document.querySelectorAll("time[data-ts]")) {
      element.textContent = relative(Number(element.dataset.ts), now);
    }
  }, 1000);
}

export const shortId = (id) => (id ? `${String(id).slice(0, 8)}…${String(id).slice(-4)}` : "–");

export function taskLink(id, { short = true } = {}) {
  return h("a.mono", { href: `#/tasks/${encodeURIComponent(id)}`, title: id, dataset: { taskId: id } }, short ? shortId(id) : id);
}

export function empty(text) {
  return h("div.empty", text);
}

/** A "running / capacity" bar. */
export function loadBar(used, capacity) {
  const ratio = capacity > 0 ? Math.min(1, used / capacity) : 0;
  const level = ratio >= 0.9 ? "high" : ratio >= 0.6 ? "mid" : "low";
  const bar = h("span.loadbar", { title: `${used} of ${capacity}` }, h(`span.loadbar-fill.${level}`));
  bar.firstChild.setAttribute("data-ratio", String(ratio));
  bar.firstChild.style.width = `${Math.round(ratio * 100)}%`;
  return bar;
}

// --- toasts ---------------------------------------------------------------------

const toasts = new Map();

/** A non-blocking message; the same text again refreshes the one shown (× n). */
export function toast(message, { kind = "error", code = "", timeout = 7000 } = {}) {
  const host = document.getElementById("toasts");
  if (!host) return;
  const key = `${kind}|${code}|${message}`;
  let entry = toasts.get(key);
  if (entry) {
    entry.count += 1;
    entry.counter.textContent = `× ${entry.count}`;
    entry.counter.hidden = false;
  } else {
    const counter = h("span.toast-count", { hidden: true });
    const close = h("button.toast-close", { type: "button", title: "Dismiss", "aria-label": "Dismiss" }, "×");
    const element = h(`div.toast.${kind}`, { role: kind === "error" ? "alert" : "status", "data-test": "toast" },
      h("div.toast-body", code ? h("code.toast-code", code) : null, h("span.toast-text", message), counter), close);
    entry = { element, counter, count: 1, timer: 0 };
    close.addEventListener("click", () => dismiss(key));
    toasts.set(key, entry);
    host.append(element);
    while (host.children.length > 5) {
      const oldest = [...toasts.entries()][0];
      dismiss(oldest[0]);
    }
  }
  clearTimeout(entry.timer);
  entry.timer = setTimeout(() => dismiss(key), timeout);
}

function dismiss(key) {
  const entry = toasts.get(key);
  if (!entry) return;
  clearTimeout(entry.timer);
  entry.element.remove();
  toasts.delete(key);
}

/** An ApiError (or any error) as a toast; aborted requests say nothing. */
export function reportError(error, what) {
  if (!error || error.name === "AbortError") return;
  const text = error.detail || error.message || String(error);
  toast(what ? `${what}: ${text}` : text, { code: error.code || "" });
}

export const notify = (message) => toast(message, { kind: "ok", timeout: 4000 });

// --- dialogs --------------------------------------------------------------------

/**
 * A modal form. `fields` build its body; `submit(form)` runs on confirm and
 * may throw to keep the dialog open (its error shows inside). Resolves with
 * submit's answer, or null when dismissed.
 */
export function dialog({ title, body, confirm = "Confirm", danger = false, submit, wide = false }) {
  return new Promise((resolve) => {
    const error = h("p.dialog-error", { hidden: true, role: "alert" });
    const ok = h(`button.button${danger ? ".danger" : ".primary"}`, { type: "submit", "data-test": "dialog-confirm" }, confirm);
    const cancel = h("button.button.ghost", { type: "button", "data-test": "dialog-cancel" }, "Cancel");
    const form = h("form.dialog-form", { method: "dialog" },
      h("h2", title), h("div.dialog-body", body), error, h("div.dialog-actions", cancel, ok));
    const element = h(`dialog.dialog${wide ? ".wide" : ""}`, { "data-test": "dialog" }, form);
    let settled = false;
    const finish = (value) => {
      if (settled) return;
      settled = true;
      element.close();
      element.remove();
      resolve(value);
    };
    cancel.addEventListener("click", () => finish(null));
    element.addEventListener("cancel", (event) => {
      event.preventDefault();
      finish(null);
    });
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      ok.disabled = true;
      error.hidden = true;
      try {
        const answer = submit ? await submit(form) : true;
        finish(answer ?? true);
      } catch (failure) {
        error.textContent = failure.code ? `${failure.code}: ${failure.detail || failure.message}` : failure.message;
        error.hidden = false;
        ok.disabled = false;
      }
    });
    document.body.append(element);
    element.showModal();
    const first = form.querySelector("input:not([type=hidden]):not([disabled]), textarea, select");
    (first || ok).focus();
  });
}

export function field(label, control, hint) {
  return h("label.field", h("span.field-label", label), control, hint ? h("span.field-hint", hint) : null);
}

// --- polling --------------------------------------------------------------------

/**
 * Runs `task(signal)` now and every `interval` ms while the page is visible
 * and the poller is running; never two at once. stop() aborts the one in flight.
 */
export function poller(task, interval) {
  let timer = 0;
  let running = true;
  let busy = false;
  let controller = null;
  const run = async () => {
    timer = 0;
    if (!running) return;
    if (document.visibilityState === "hidden") {
      schedule();
      return;
    }
    busy = true;
    controller = new AbortController();
    try {
      await task(controller.signal);
    } catch (error) {
      if (running) reportError(error);
    } finally {
      busy = false;
      controller = null;
    }
    schedule();
  };
  const schedule = () => {
    if (running && !timer) timer = setTimeout(run, interval);
  };
  const onVisible = () => {
    if (document.visibilityState === "visible" && running && !busy) {
      clearTimeout(timer);
      timer = 0;
      run();
    }
  };
  document.addEventListener("visibilitychange", onVisible);
  run();
  return {
    /** Runs at once (after a change), unless a run is under way. */
    now() {
      if (!running || busy) return;
      clearTimeout(timer);
      timer = 0;
      run();
    },
    stop() {
      running = false;
      clearTimeout(timer);
      document.removeEventListener("visibilitychange", onVisible);
      if (controller) controller.abort();
    },
  };
}

const ICONS = {
  copy: ["M9 9h10v10H9z", "M5 15V5h10"],
  sun: ["M12 8a4 4 0 1 0 0 8a4 4 0 1 0 0-8z", "M12 2v2M12 20v2M4.9 4.9l1.4 1.4M17.7 17.7l1.4 1.4M2 12h2M20 12h2M4.9 19.1l1.4-1.4M17.7 6.3l1.4-1.4"],
  moon: ["M20 14.5A8 8 0 0 1 9.5 4a8 8 0 1 0 10.5 10.5z"],
  auto: ["M12 3a9 9 0 1 0 0 18a9 9 0 1 0 0-18z", "M12 3v18"],
};

/** A small stroked SVG icon (currentColor). */
export function icon(name, size = 16) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  for (const [key, value] of Object.entries({ viewBox: "0 0 24 24", width: size, height: size, fill: "none", stroke: "currentColor",
    "stroke-width": "2", "stroke-linecap": "round", "stroke-linejoin": "round", "aria-hidden": "true", class: "icon" })) {
    svg.setAttribute(key, String(value));
  }
  for (const d of ICONS[name] || []) {
    const path = document.createElementNS(ns, "path");
    path.setAttribute("d", d);
    svg.append(path);
  }
  if (name === "auto") {
    const half = document.createElementNS(ns, "path");
    half.setAttribute("d", "M12 3a9 9 0 0 1 0 18z");
    half.setAttribute("fill", "currentColor");
    svg.append(half);
  }
  return svg;
}

export function copyButton(text) {
  const button = h("button.icon-button.small", { type: "button", title: "Copy", "aria-label": "Copy" }, icon("copy", 14));
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(text);
      notify("Copied");
    } catch {
      toast("The browser refused the clipboard");
    }
  });
  return button;
}
