// The dashboard's shell: who is signed in, the header, the theme, and hash
// routing to the pages (#/overview, #/tasks, #/tasks/<id>, #/dead-letters,
// #/task-types, #/schedules, #/workers).

import { credential, get, onUnauthenticated, setCredential } from "./api.js";
import { h, fill, icon, reportError, startTicker, toast } from "./ui.js";
import * as overview from "./overview.js";
import * as tasks from "./tasks.js";
import * as task from "./task.js";
import * as deadLetters from "./deadletters.js";
import * as taskTypes from "./tasktypes.js";
import * as schedules from "./schedules.js";
import * as workers from "./workers.js";

const RANK = { viewer: 1, submitter: 2, admin: 3 };

const PAGES = {
  overview: { module: overview, title: "Overview" },
  tasks: { module: tasks, title: "Tasks" },
  task: { module: task, title: "Task" },
  "dead-letters": { module: deadLetters, title: "Dead letters" },
  "task-types": { module: taskTypes, title: "Task types" },
  schedules: { module: schedules, title: "Schedules" },
  workers: { module: workers, title: "Workers" },
};

/** What every page gets: the caller, role checks, and hash parameters. */
const ctx = {
  me: null,
  can(role) {
    return !!this.me && (RANK[String(this.me.role || "").toLowerCase()] || 0) >= RANK[role];
  },
  /** Rewrites the current route's query (#/tasks?status=…) without a navigation. */
  setParams(params) {
    const { path } = parseHash();
    const search = new URLSearchParams();
    for (const [name, value] of Object.entries(params)) if (value) search.set(name, value);
    const text = search.toString();
    history.replaceState(null, "", `#${path}${text ? `?${text}` : ""}`);
  },
  /** The answering node, shown in the header (pages that read stats report it). */
  noteNode(nodeId) {
    const chip = document.getElementById("node-chip");
    if (!nodeId || !chip) return;
    chip.textContent = nodeId;
    chip.title = `Served by node ${nodeId}`;
    chip.hidden = false;
  },
};

let current = null;

function parseHash() {
  const raw = location.hash.replace(/^#/, "") || "/overview";
  const at = raw.indexOf("?");
  const path = at < 0 ? raw : raw.slice(0, at);
  const params = new URLSearchParams(at < 0 ? "" : raw.slice(at + 1));
  return { path: path.startsWith("/") ? path : `/${path}`, params };
}

function unmount() {
  if (!current) return;
  try {
    current();
  } catch (error) {
    reportError(error);
  }
  current = null;
}

function route() {
  if (!ctx.me) return;
  const { path, params } = parseHash();
  const segments = path.split("/").filter(Boolean).map(decodeURIComponent);
  let name = segments[0] || "overview";
  let id = "";
  if (name === "tasks" && segments[1]) {
    name = "task";
    id = segments[1];
  }
  const page = PAGES[name];
  const main = document.getElementById("main");
  unmount();
  for (const link of document.querySelectorAll("#nav a")) {
    const active = link.dataset.page === (name === "task" ? "tasks" : name);
    link.classList.toggle("active", active);
    if (active) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  if (!page) {
    fill(main, h("section.page", h("h1", "Not found"), h("p", "No page here. ", h("a", { href: "#/overview" }, "Go to the overview."))));
    document.title = "Not found · Baton";
    return;
  }
  document.title = `${page.title}${id ? ` ${id.slice(0, 8)}` : ""} · Baton`;
  const root = h("section.page", { "data-page": name });
  fill(main, root);
  main.scrollTop = 0;
  window.scrollTo(0, 0);
  try {
    current = page.module.mount(root, { id, params }, ctx) || null;
  } catch (error) {
    reportError(error);
  }
}

// --- sign-in --------------------------------------------------------------------

function showHeader() {
  const who = document.getElementById("who");
  const signOut = document.getElementById("sign-out");
  const nav = document.getElementById("nav");
  nav.hidden = false;
  const role = String(ctx.me.role || "").toLowerCase() || "unknown";
  fill(who, h(`span.role.role-${role}`, role), h("span.tenant", ctx.me.tenant || "default"));
  who.title = ctx.me.keyId ? `Signed in with key ${ctx.me.keyId}` : "This node runs without keys (open)";
  who.hidden = false;
  who.dataset.role = role;
  signOut.hidden = !credential();
}

function signInPage(message) {
  unmount();
  ctx.me = null;
  document.getElementById("who").hidden = true;
  document.getElementById("sign-out").hidden = true;
  document.getElementById("nav").hidden = true;
  document.title = "Sign in · Baton";
  const input = h("input#credential", {
    type: "password", name: "credential", autocomplete: "off", spellcheck: "false", required: true,
    placeholder: "API key or JWT", "aria-label": "API key or JWT", "data-test": "credential",
  });
  const error = h("p.signin-error", { role: "alert", hidden: !message, "data-test": "signin-error" }, message || "");
  const button = h("button.button.primary", { type: "submit", "data-test": "signin" }, "Sign in");
  const form = h("form.signin-card", { autocomplete: "off" },
    h("img", { src: "/ui/favicon.svg", alt: "", width: 40, height: 40 }),
    h("h1", "Sign in to Baton"),
    h("p.muted", "Paste an API key or a JWT. It stays in this tab only (session storage) and is sent as a bearer header."),
    input, error, button);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const value = input.value.trim();
    if (!value) return;
    button.disabled = true;
    error.hidden = true;
    setCredential(value);
    try {
      ctx.me = await get("/api/v1/whoami");
      input.value = "";
      start();
    } catch (failure) {
      setCredential("");
      error.textContent = failure.status === 401 ? "That key or token is not accepted." : failure.detail || failure.message;
      error.hidden = false;
      button.disabled = false;
      input.select();
    }
  });
  fill(document.getElementById("main"), h("section.signin", form));
  input.focus();
}

function start() {
  showHeader();
  if (!location.hash || location.hash === "#" || location.hash === "#/") history.replaceState(null, "", "#/overview");
  route();
}

async function identify() {
  try {
    ctx.me = await get("/api/v1/whoami");
  } catch (error) {
    if (error.status === 401) {
      const had = credential();
      if (had) setCredential("");
      signInPage(had ? "The saved key or token is no longer accepted; sign in again." : "");
      return;
    }
    const retry = h("button.button", { type: "button" }, "Try again");
    retry.addEventListener("click", () => identify());
    fill(document.getElementById("main"), h("section.page", h("div.card.notice",
      h("h1", "The node does not answer"), h("p", `${error.code ? `${error.code}: ` : ""}${error.detail || error.message}`), retry)));
    return;
  }
  start();
}

// --- theme ----------------------------------------------------------------------

const THEMES = ["system", "light", "dark"];
const THEME_ICON = { system: "auto", light: "sun", dark: "moon" };

/** The remembered choice; html[data-theme] holds what it resolves to (theme.js). */
function currentTheme() {
  try {
    const value = localStorage.getItem("baton.theme");
    return value === "light" || value === "dark" ? value : "system";
  } catch {
    return "system";
  }
}

function applyTheme(theme) {
  try {
    if (theme === "system") localStorage.removeItem("baton.theme");
    else localStorage.setItem("baton.theme", theme);
  } catch {
    /* not remembered */
  }
  const systemDark = window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches;
  document.documentElement.setAttribute("data-theme", theme === "system" ? (systemDark ? "dark" : "light") : theme);
  const button = document.getElementById("theme-toggle");
  fill(document.getElementById("theme-icon"), icon(THEME_ICON[theme], 17));
  button.title = `Theme: ${theme} (click to change)`;
  button.dataset.theme = theme;
  window.dispatchEvent(new Event("resize")); // charts pick up the colours
}

// --- boot -----------------------------------------------------------------------

function boot() {
  startTicker();
  applyTheme(currentTheme());
  document.getElementById("theme-toggle").addEventListener("click", () => {
    applyTheme(THEMES[(THEMES.indexOf(currentTheme()) + 1) % THEMES.length]);
  });
  document.getElementById("sign-out").addEventListener("click", () => {
    setCredential("");
    signInPage("");
  });
  window.addEventListener("hashchange", route);
  window.addEventListener("unhandledrejection", (event) => {
    // A bug, not an API answer (those are handled where they happen): say so on the page too.
    toast(`Unexpected error: ${event.reason && event.reason.message ? event.reason.message : event.reason}`);
  });
  onUnauthenticated(() => {
    if (!ctx.me) return;
    setCredential("");
    signInPage("The node no longer accepts that key or token; sign in again.");
  });
  identify();
}

boot();
