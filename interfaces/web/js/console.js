// The web console's shell: log in, then one view at a time chosen by the URL hash.

import { api, session, whenSignedOut } from "./api.js";
import { emptyState, h, replace, toast } from "./dom.js";

const VIEWS = {
  zones: () => import("./zones.js"),
  library: () => import("./library.js"),
  announcements: () => import("./announcements.js"),
  schedules: () => import("./schedules.js"),
  history: () => import("./history.js"),
  reports: () => import("./reports.js"),
};

const $ = (id) => document.getElementById(id);
let dispose = null;
let rendering = 0;

function showLogin(message = "") {
  disposeView();
  $("nav").hidden = $("logout").hidden = true;
  $("who").textContent = "";
  replace($("view"));
  $("login-view").hidden = false;
  $("login-error").textContent = message;
}

function disposeView() {
  if (typeof dispose === "function") dispose();
  dispose = null;
}

async function logIn(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const data = Object.fromEntries(new FormData(form));
  try {
    const body = await api("/api/auth/login/", { method: "POST", body: data, token: "" });
    session.set({ access: body.access, refresh: body.refresh, user: body.user });
    form.reset();
    await showApp();
  } catch (e) {
    $("login-error").textContent = e.status === 429 ? `${e.message} (try again later)` : e.message;
  }
}

async function logOut() {
  const refresh = session.get()?.refresh;
  session.clear();
  if (refresh) {
    api("/api/auth/logout/", { method: "POST", body: { refresh }, token: "" }).catch(() => {});
  }
  showLogin();
}

async function showApp() {
  $("login-view").hidden = true;
  $("nav").hidden = $("logout").hidden = false;
  const user = session.get()?.user;
  $("who").textContent = user ? `${user.name || user.email}` : "";
  if (!location.hash) history.replaceState(null, "", "#zones");
  await route();
}

async function route() {
  if (!session.get()) return showLogin();
  const name = (location.hash.slice(1) || "zones").split("?")[0];
  const load = VIEWS[name] || VIEWS.zones;
  for (const link of document.querySelectorAll("#nav a")) {
    link.classList.toggle("active", link.dataset.view === name);
  }
  disposeView();
  const ticket = ++rendering;
  const root = replace($("view"), h("p.muted", {}, "Loading…"));
  try {
    const module = await load();
    const container = h("div.view", { dataset: { view: name } });
    const cleanup = await module.render(container);
    if (ticket !== rendering) { if (typeof cleanup === "function") cleanup(); return; }
    replace(root, container);
    dispose = cleanup;
  } catch (e) {
    if (ticket !== rendering) return;
    replace(root, emptyState(`Could not load this page: ${e.message}`));
    toast(e.message, "error");
  }
}

whenSignedOut(() => showLogin("Your session ended; please log in again."));
$("login-form").addEventListener("submit", logIn);
$("logout").addEventListener("click", logOut);
window.addEventListener("hashchange", () => { if (session.get()) route(); });
if (session.get()) showApp(); else showLogin();
