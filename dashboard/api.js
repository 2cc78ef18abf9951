// The REST API (/api/v1) as the dashboard uses it: one fetch wrapper that
// sends the credential as a bearer header, problem+json errors as ApiError,
// and a Server-Sent Events reader over fetch (EventSource cannot send an
// Authorization header).
//
// The credential lives in sessionStorage only: never in a URL, never logged.

const CREDENTIAL = "baton.credential";
const listeners = new Set();

export function credential() {
  try {
    return sessionStorage.getItem(CREDENTIAL) || "";
  } catch {
    return "";
  }
}

export function setCredential(value) {
  try {
    if (value) sessionStorage.setItem(CREDENTIAL, value);
    else sessionStorage.removeItem(CREDENTIAL);
  } catch {
    /* storage disabled: the key lasts as long as the page */
  }
}

/** Called with the ApiError of any 401 (a revoked key, an expired JWT). */
export function onUnauthenticated(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export class ApiError extends Error {
  constructor(status, code, detail, title) {
    super(detail || title || code || `HTTP ${status}`);
    this.name = "ApiError";
    this.status = status;
    this.code = code || "";
    this.detail = detail || "";
    this.title = title || "";
  }
}

const CODE_BY_STATUS = {
  400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
  409: "FAILED_PRECONDITION", 415: "UNSUPPORTED_MEDIA_TYPE", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL",
  501: "UNIMPLEMENTED", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED",
};

function headers(extra) {
  const result = { Accept: "application/json", ...extra };
  const key = credential();
  if (key) result.Authorization = `Bearer ${key}`;
  return result;
}

async function problem(response) {
  let text = "";
  try {
    text = await response.text();
  } catch {
    /* the body is gone: the status says enough */
  }
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  const code = (body && body.code) || CODE_BY_STATUS[response.status] || `HTTP_${response.status}`;
  const detail = (body && body.detail) || (body ? "" : text.slice(0, 300)) || response.statusText;
  const error = new ApiError(response.status, code, detail, (body && body.title) || response.statusText);
  if (response.status === 401) for (const listener of listeners) listener(error);
  return error;
}

function unreachable(error) {
  if (error && error.name === "AbortError") return error;
  return new ApiError(0, "UNAVAILABLE", "the node does not answer (network error)", "Unreachable");
}

/**
 * One API call. `body` is sent as JSON on every method but GET (with
 * Content-Type: application/json, which the server requires of every
 * POST/PUT/DELETE). Answers the parsed JSON ({} for an empty body).
 */
export async function api(method, path, body, { signal, auth = true } = {}) {
  const init = { method, signal, cache: "no-store", credentials: "omit", redirect: "error" };
  const extra = {};
  if (method !== "GET" && method !== "HEAD") {
    extra["Content-Type"] = "application/json";
    init.body = JSON.stringify(body ?? {});
  }
  init.headers = auth ? headers(extra) : { Accept: "application/json", ...extra };
  let response;
  try {
    response = await fetch(path, init);
  } catch (error) {
    throw unreachable(error);
  }
  if (!response.ok) throw await problem(response);
  const text = await response.text();
  if (!text) return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new ApiError(response.status, "INTERNAL", "the answer is not JSON", "Bad answer");
  }
}

export const get = (path, options) => api("GET", path, undefined, options);
export const post = (path, body, options) => api("POST", path, body, options);
export const put = (path, body, options) => api("PUT", path, body, options);
export const del = (path, options) => api("DELETE", path, {}, options);

/** `?a=1&b=2` from an object; empty values and empty arrays are left out. */
export function query(params) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value === undefined || value === null || value === "" || value === false) continue;
    if (Array.isArray(value)) {
      for (const item of value) search.append(name, item);
    } else {
      search.set(name, String(value));
    }
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

export const enc = encodeURIComponent;

/**
 * Reads a text/event-stream answer and calls onEvent(type, data) for each
 * event. Resolves when the server ends the stream; rejects with ApiError
 * on an error status, with AbortError when `signal` aborts.
 */
export async function streamEvents(path, { signal, onEvent, onOpen }) {
  let response;
  try {
    response = await fetch(path, {
      headers: headers({ Accept: "text/event-stream" }),
      signal, cache: "no-store", credentials: "omit", redirect: "error",
    });
  } catch (error) {
    throw unreachable(error);
  }
  if (!response.ok) throw await problem(response);
  if (!response.body) throw new ApiError(0, "INTERNAL", "this browser cannot stream a response", "Unsupported");
  if (onOpen) onOpen();
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  const parser = new EventStreamParser(onEvent);
  try {
    for (;;) {
      let chunk;
      try {
        chunk = await reader.read();
      } catch (error) {
        throw unreachable(error);
      }
      if (chunk.done) break;
      parser.push(chunk.value);
    }
    parser.end();
  } finally {
    reader.releaseLock();
  }
}

/** The text/event-stream format (WHATWG HTML §9.2.6), fed in arbitrary chunks. */
export class EventStreamParser {
  constructor(onEvent) {
    this.onEvent = onEvent;
    this.buffer = "";
    this.type = "";
    this.data = [];
    this.first = true;
  }

  push(text) {
    this.buffer += text;
    if (this.first && this.buffer.length) {
      if (this.buffer.charCodeAt(0) === 0xfeff) this.buffer = this.buffer.slice(1);
      this.first = false;
    }
    for (;;) {
      const cr = this.buffer.indexOf("\r");
      const lf = this.buffer.indexOf("\n");
      let end = -1;
      let skip = 1;
      if (cr >= 0 && (lf < 0 || cr < lf)) {
        // "\r" at the end of the buffer may be the first half of "\r\n".
        if (cr === this.buffer.length - 1) break;
        end = cr;
        if (this.buffer[cr + 1] === "\n") skip = 2;
      } else if (lf >= 0) {
        end = lf;
      }
      if (end < 0) break;
      const line = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + skip);
      this.line(line);
    }
  }

  end() {
    if (this.buffer.endsWith("\r")) {
      this.line(this.buffer.slice(0, -1));
      this.buffer = "";
    }
    // An event not followed by a blank line is dropped, as the format says.
  }

  line(line) {
    if (line === "") {
      if (this.data.length) this.onEvent(this.type || "message", this.data.join("\n"));
      this.type = "";
      this.data = [];
      return;
    }
    if (line.startsWith(":")) return; // a comment (keep-alive)
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") this.type = value;
    else if (field === "data") this.data.push(value);
    // id and retry: the dashboard reconnects on its own terms.
  }
}
