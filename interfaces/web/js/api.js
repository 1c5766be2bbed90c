// The public HTTP API as the pages use it: bearer tokens (refreshed once on 401),
// problem+json errors as ApiError, DRF-style pages, uploads with progress.

const KEY = "s2g.console.auth";

export class ApiError extends Error {
  constructor(status, problem) {
    super((problem && (problem.detail || problem.title)) || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
  }
}

export const session = {
  get() {
    try { return JSON.parse(localStorage.getItem(KEY)); } catch { return null; }
  },
  set(value) { localStorage.setItem(KEY, JSON.stringify(value)); },
  clear() { localStorage.removeItem(KEY); },
};

let onSignedOut = () => {};
export function whenSignedOut(callback) { onSignedOut = callback; }

let refreshing = null;

/** Swap the refresh token for a new pair; one refresh at a time. */
export function refreshTokens() {
  refreshing ??= (async () => {
    const current = session.get();
    if (!current?.refresh) return false;
    const res = await fetch("/api/auth/refresh/", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ refresh: current.refresh }),
    });
    if (!res.ok) return false;
    const body = await res.json();
    session.set({ ...current, access: body.access, refresh: body.refresh, user: body.user });
    return true;
  })().finally(() => { refreshing = null; });
  return refreshing;
}

function authHeader(token) {
  return token ? { Authorization: `Bearer ${token}` } : {};
}

async function problemOf(res) {
  try { return await res.json(); } catch { return { detail: res.statusText }; }
}

/** fetch() with the session's token; JSON in and out. `token` overrides it (devices);
 * `wait` is an event position the read models must have reached (read your writes). */
export async function api(path, { method = "GET", body, token, raw = false, retry = true,
                                  wait = null } = {}) {
  const headers = { Accept: "application/json", ...authHeader(token ?? session.get()?.access) };
  if (wait) headers["X-Wait-For-Position"] = String(wait);
  let payload = body;
  if (body !== undefined && !(body instanceof FormData)) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, { method, headers, body: payload });
  } catch (e) {
    throw new ApiError(0, { detail: `network error: ${e.message}` });
  }
  if (res.status === 401 && retry && token === undefined && session.get()?.refresh) {
    if (await refreshTokens()) return api(path, { method, body, raw, wait, retry: false });
    session.clear();
    onSignedOut();
  }
  if (!res.ok) throw new ApiError(res.status, await problemOf(res));
  if (raw) return res;
  return res.status === 204 ? null : res.json();
}

/** A command: its answer and the event position it reached (`X-Event-Position`). */
export async function command(path, body, method = "POST") {
  const res = await api(path, { method, body, raw: true });
  const answer = res.status === 204 ? null : await res.json();
  return { body: answer, position: res.headers.get("X-Event-Position") };
}

/** Like api(), but an endpoint that is not there (404/405/501) gives `fallback`. */
export async function optional(path, fallback = null, wait = null) {
  try {
    return await api(path, { wait });
  } catch (e) {
    if ([404, 405, 501].includes(e.status)) return fallback;
    throw e;
  }
}

function sameOrigin(url) {
  const u = new URL(url, location.href);
  return u.pathname + u.search;
}

/** Every item of a paginated list, following `next` (bounded). */
export async function allPages(path, { maxPages = 20, optionalList = false, wait = null } = {}) {
  const items = [];
  let next = path;
  for (let i = 0; next && i < maxPages; i++) {
    const page = optionalList ? await optional(next, null, wait) : await api(next, { wait });
    if (!page) return i === 0 ? null : items;
    items.push(...(page.results || []));
    next = page.next ? sameOrigin(page.next) : null;
  }
  return items;
}

/** POST a FormData with upload progress (0..1) reported to `onProgress`; resolves to
 * `{body, position}` like command(). */
export function upload(path, form, onProgress = () => {}, retry = true) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", path);
    const token = session.get()?.access;
    if (token) xhr.setRequestHeader("Authorization", `Bearer ${token}`);
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) onProgress(e.loaded / e.total); };
    xhr.onerror = () => reject(new ApiError(0, { detail: "network error during upload" }));
    xhr.onload = async () => {
      let body = null;
      try { body = JSON.parse(xhr.responseText); } catch { body = { detail: xhr.statusText }; }
      if (xhr.status === 401 && retry && (await refreshTokens())) {
        upload(path, form, onProgress, false).then(resolve, reject);
      } else if (xhr.status >= 200 && xhr.status < 300) {
        onProgress(1);
        resolve({ body, position: xhr.getResponseHeader("X-Event-Position") });
      } else {
        reject(new ApiError(xhr.status, body));
      }
    };
    xhr.send(form);
  });
}
