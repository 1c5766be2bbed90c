// A zone's past: what happened (history), what played (proof of play), and a time
// slider showing the zone's state at any moment. These APIs may not exist yet on
// this server: each part then shows an empty state instead.

import { allPages, optional } from "./api.js";
import { parseTime } from "./clock.js";
import { debounce, emptyState, fmtDateTime, h, replace, toLocalInput } from "./dom.js";
import { NowPlaying } from "./nowplaying.js";
import { plays } from "./plays.js";

export async function render(root) {
  const zones = await allPages("/api/zones/?page_size=100");
  if (!zones.length) {
    root.append(h("h2", {}, "History"), emptyState("No zones yet."));
    return undefined;
  }
  const view = new History(root, zones);
  await view.load();
  return undefined;
}

class History {
  constructor(root, zones) {
    const now = new Date();
    this.zone = h("select", { "aria-label": "Zone", on: { change: () => this.load() } },
      zones.map((z) => h("option", { value: z.id }, z.name)));
    this.from = h("input", { type: "datetime-local", value: toLocalInput(new Date(now - 864e5)),
                             on: { change: () => this.load() } });
    this.to = h("input", { type: "datetime-local", value: toLocalInput(now),
                           on: { change: () => this.load() } });
    this.slider = h("input.slider", { type: "range", min: 0, max: 1000, value: 1000, step: 1,
                                      "aria-label": "Moment", dataset: { testid: "time-slider" },
                                      on: { input: () => this.moved() } });
    this.moment = h("strong", { dataset: { testid: "slider-time" } });
    this.snapshot = new NowPlaying();
    this.snapshotNote = h("p.muted");
    this.events = h("div", { dataset: { testid: "history" } });
    this.plays = h("div", { dataset: { testid: "plays" } });
    this.fetchState = debounce(() => this.showStateAt(), 250);
    root.append(
      h("div.view-head", {}, h("h2", {}, "History"), this.zone,
        h("label", {}, "From ", this.from), h("label", {}, "To ", this.to)),
      h("div.card", {}, h("h3", {}, "State at ", this.moment), this.slider,
        this.snapshot.el, this.snapshotNote),
      h("div.split.even", {},
        h("div", {}, h("h3", {}, "What happened"), this.events),
        h("div", {}, h("h3", {}, "Proof of play"), this.plays)));
  }

  range() {
    const from = new Date(this.from.value);
    const to = new Date(this.to.value);
    return [from, to > from ? to : new Date(from.getTime() + 3600e3)];
  }

  query() {
    const [from, to] = this.range();
    return `from=${encodeURIComponent(from.toISOString())}&to=${encodeURIComponent(to.toISOString())}`;
  }

  at() {
    const [from, to] = this.range();
    return new Date(from.getTime() + ((to - from) * Number(this.slider.value)) / 1000);
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

  async loadEvents() {
    const path = `/api/zones/${this.zone.value}/history/?${this.query()}&page_size=200`;
    const page = await optional(path);
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
    replace(this.events, h("ol.timeline", {}, this.entries.map((e) => h("li", {
      dataset: { at: e.at } },
      h("time", {}, fmtDateTime(e.at)), " ", h("strong", {}, e.summary || e.type),
      h("span.muted", {}, ` · ${e.actor?.kind ?? "?"}`)))));
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
    this.moment.textContent = fmtDateTime(at.toISOString());
    const state = await optional(
      `/api/zones/${this.zone.value}/state/?at=${encodeURIComponent(at.toISOString())}`)
      .catch(() => null);
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
