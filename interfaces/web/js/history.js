// A zone's past: what happened (history), what played (proof of play), and a time
// slider showing the zone's state at any moment. These APIs may not exist yet on
// this server: each part then shows an empty state instead.
// The from/to window is "the last 24 hours up to now" and follows now (refreshed
// every few seconds) until the user edits it; "Now" follows again. The slider
// spans the zone's whole life, from its creation to now, whatever the window.

import { allPages, optional } from "./api.js";
import { parseTime } from "./clock.js";
import { debounce, emptyState, fmtDateTime, h, replace, toLocalInput } from "./dom.js";
import { NowPlaying } from "./nowplaying.js";
import { plays } from "./plays.js";

const DAY_MS = 864e5;
const FOLLOW_MS = 10_000;
const PAGE = 200;

/** A datetime-local value with seconds (toLocalInput stops at the minute). */
function localInput(date) {
  return `${toLocalInput(date)}:${String(date.getSeconds()).padStart(2, "0")}`;
}

/** Who acted, in words: the user's, device's or schedule's name when the API has it. */
export function actorLabel(actor) {
  const name = actor?.name;
  switch (actor?.kind) {
    case "user": return name || "a user";
    case "device": return `device ${name || "(removed)"}`;
    case "schedule": return name ? `schedule “${name}”` : "a schedule (removed)";
    case "system": return name && name !== "system" ? `system (${name})` : "system";
    default: return actor?.kind ?? "?";
  }
}

export async function render(root) {
  const zones = await allPages("/api/zones/?page_size=100");
  if (!zones.length) {
    root.append(h("h2", {}, "History"), emptyState("No zones yet."));
    return undefined;
  }
  const view = new History(root, zones);
  await view.load();
  const timer = setInterval(() => view.refresh(), FOLLOW_MS);
  return () => clearInterval(timer);
}

class History {
  constructor(root, zones) {
    this.zoneRows = new Map(zones.map((z) => [z.id, z]));
    this.following = true;
    this.ticket = 0;
    this.zone = h("select", { "aria-label": "Zone", on: { change: () => this.zoneChanged() } },
      zones.map((z) => h("option", { value: z.id }, z.name)));
    const edited = { change: () => this.edited() };
    this.from = h("input", { type: "datetime-local", step: 1, "aria-label": "From", on: edited });
    this.to = h("input", { type: "datetime-local", step: 1, "aria-label": "To", on: edited });
    this.nowButton = h("button", { type: "button", class: "ghost", title: "Follow now",
                                   dataset: { testid: "history-now" },
                                   on: { click: () => this.followNow() } }, "Now");
    this.slider = h("input.slider", { type: "range", step: 1000, "aria-label": "Moment",
                                      dataset: { testid: "time-slider" },
                                      on: { input: () => this.moved() } });
    this.moment = h("strong", { dataset: { testid: "slider-time" } });
    this.snapshot = new NowPlaying();
    this.snapshotNote = h("p.muted");
    this.events = h("div", { dataset: { testid: "history" } });
    this.plays = h("div", { dataset: { testid: "plays" } });
    this.fetchState = debounce(() => this.showStateAt(), 250);
    this.head = h("div.view-head", { dataset: { testid: "history-window" } },
      h("h2", {}, "History"), this.zone,
      h("label", {}, "From ", this.from), h("label", {}, "To ", this.to), this.nowButton);
    this.follow(new Date());
    this.spanSlider(new Date(), true);
    root.append(
      this.head,
      h("div.card", {}, h("h3", {}, "State at ", this.moment), this.slider,
        this.snapshot.el, this.snapshotNote),
      h("div.split.even", {},
        h("div", {}, h("h3", {}, "What happened"), this.events),
        h("div", {}, h("h3", {}, "Proof of play"), this.plays)));
  }

  /** Following: the window is the last 24 hours up to `now`. */
  follow(now) {
    this.window = [new Date(now - DAY_MS), now];
    this.from.value = localInput(this.window[0]);
    this.to.value = localInput(now);
    this.head.dataset.following = String(this.following);
  }

  /** The slider runs from the zone's creation to `now`; `pin` puts it at now. */
  spanSlider(now, pin) {
    const created = parseTime(this.zoneRows.get(this.zone.value)?.created_at);
    const start = Number.isNaN(created) ? now - DAY_MS : Math.min(created, now - 1000);
    const pinned = pin || this.pinned();
    this.slider.min = String(start);
    this.slider.max = String(now.getTime());
    if (pinned) this.slider.value = this.slider.max;
  }

  pinned() {
    return Number(this.slider.value) > Number(this.slider.max) - Number(this.slider.step);
  }

  range() {
    if (this.following) return this.window;
    const from = new Date(this.from.value);
    const to = new Date(this.to.value);
    return [from, to > from ? to : new Date(from.getTime() + 3600e3)];
  }

  edited() {
    this.following = false;
    this.head.dataset.following = "false";
    this.load();
  }

  followNow() {
    this.following = true;
    this.refresh(true);
  }

  zoneChanged() {
    this.spanSlider(new Date(), true);
    this.load();
  }

  /** Every few seconds: the slider reaches now; a following window moves with it. */
  refresh(pin = false) {
    const now = new Date();
    const pinned = pin || this.pinned();
    if (this.following) this.follow(now);
    this.spanSlider(now, pinned);
    const work = [this.following ? this.loadEvents() : null,
                  this.following ? plays(this.plays, this.zone.value, this.query()) : null,
                  pinned ? this.showStateAt() : null];
    return Promise.all(work);
  }

  query() {
    const [from, to] = this.range();
    return `from=${encodeURIComponent(from.toISOString())}&to=${encodeURIComponent(to.toISOString())}`;
  }

  /** The slider's moment (now itself while it is at its end). */
  at() {
    return new Date(this.pinned() ? Number(this.slider.max) : Number(this.slider.value));
  }

  async load() {
    await Promise.all([this.loadEvents(), this.showStateAt(),
                       plays(this.plays, this.zone.value, this.query())]);
  }

  moved() {
    this.moment.textContent = fmtDateTime(this.at().toISOString());
    this.markEvents();
    this.fetchState();
  }

  /** The window's entries; when there are more than a page, the newest page. */
  async fetchEntries() {
    const path = `/api/zones/${this.zone.value}/history/?${this.query()}&page_size=${PAGE}`;
    const page = await optional(path);
    if (page === null || page.count <= PAGE) return page;
    return optional(`${path}&page=${Math.ceil(page.count / PAGE)}`);
  }

  async loadEvents() {
    const ticket = ++this.ticket;
    const page = await this.fetchEntries();
    if (ticket !== this.ticket) return;  // a newer load went out meanwhile
    if (page === null) {
      this.entries = [];
      replace(this.events, emptyState("History is not available on this server yet."));
      return;
    }
    this.entries = page.results || [];
    if (!this.entries.length) {
      replace(this.events, emptyState("Nothing happened in this period."));
      return;
    }
    const more = page.count > this.entries.length
      ? h("p.muted", {}, `The last ${this.entries.length} of ${page.count} entries.`) : null;
    replace(this.events, more, h("ol.timeline", {}, this.entries.map(entry)));
    this.markEvents();
  }

  /** Dim what had not happened yet at the slider's moment. */
  markEvents() {
    const at = this.at().getTime();
    for (const li of this.events.querySelectorAll("li[data-at]")) {
      li.classList.toggle("future", parseTime(li.dataset.at) > at);
    }
  }

  async showStateAt() {
    const at = this.at();
    const ticket = this.stateTicket = (this.stateTicket ?? 0) + 1;
    this.moment.textContent = fmtDateTime(at.toISOString());
    this.moment.dataset.at = at.toISOString();
    const state = await optional(
      `/api/zones/${this.zone.value}/state/?at=${encodeURIComponent(at.toISOString())}`)
      .catch(() => null);
    if (ticket !== this.stateTicket) return;  // the slider moved on meanwhile
    if (!state) {
      this.snapshot.show(null);
      this.snapshotNote.textContent = "The state at a past moment is not available.";
      return;
    }
    this.snapshot.show(state);
    this.snapshot.tick(at.getTime());
    this.snapshotNote.textContent = state.announcement ? "An announcement was playing."
      : state.music_playing ? "Music was playing." : "The music was stopped or paused.";
  }
}

/** One history entry: when, what, who, why and what was heard after it. */
function entry(e) {
  const heard = e.track ? `${e.track_kind === "announcement" ? "Announcement: " : ""}${e.track}`
    : null;
  return h("li", { dataset: { at: e.at, type: e.type, actor: e.actor?.kind ?? "" } },
    h("time", {}, fmtDateTime(e.at)), " ", h("strong", {}, e.summary || e.type),
    h("span.muted", { dataset: { testid: "actor" } }, ` · ${actorLabel(e.actor)}`),
    e.reason && e.type !== "ScheduleDecided"  // a decision's summary says it already
      ? h("span.muted", { dataset: { testid: "reason" } }, ` · ${e.reason}`) : null,
    heard ? h("div.muted", { dataset: { testid: "heard" } }, `♪ ${heard}`) : null);
}
