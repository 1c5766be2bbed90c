// The plays the player makes offline (docs/device-protocol.md, "Reconciliation"):
// each finished play is kept in localStorage and reported once the socket is back,
// retried until the server has it (idempotent by play_id). Plays under way are kept
// too, so that a reload closes them as interrupted where they were last seen.

import { api } from "./api.js";
import { parseTime } from "./clock.js";

const PLAYS = "s2g.player.offline-plays";  // finished plays not yet accepted by the server
const OPEN = "s2g.player.open-plays";      // plays under way (closed as interrupted on reload)

const load = (key, empty) => {
  try { return JSON.parse(localStorage.getItem(key)) ?? empty; } catch { return empty; }
};
const save = (key, value) => localStorage.setItem(key, JSON.stringify(value));
const iso = (ms) => new Date(ms).toISOString();

export class PlayLog {
  /** `connected()`: whether the socket is up (plays are reported only then). */
  constructor(device, connected) {
    Object.assign(this, { device, connected });
    this.made = [];    // every play made offline (for tests and debugging)
    this.opened = {};  // slot ("music", "speech") -> the play under way
  }

  stop() {
    clearTimeout(this.retry);
  }

  /** A play of `item` starts in `slot` at `startedAt` (server ms). */
  start(slot, kind, item, startedAt) {
    this.opened[slot] = this.record(kind, item, startedAt);
  }

  record(kind, item, startedAt) {
    return { play_id: crypto.randomUUID(), kind, title: item.title || "",
             item_id: kind === "track" ? item.item_id : (item.announcement_id ?? item.item_id),
             artist: item.artist || "", duration_ms: item.duration_ms || 0,
             schedule_id: item.schedule_id ?? null, started_at: iso(startedAt) };
  }

  finish(slot, endedAt, reason = "natural") {
    const play = this.opened[slot];
    this.opened[slot] = null;
    if (!play) return;
    this.keep({ ...play, ended_at: iso(endedAt), end_reason: reason });
  }

  /** The plays under way were still playing at `now` (server ms). */
  seen(now) {
    save(OPEN, { seenAt: now, plays: Object.values(this.opened).filter(Boolean) });
  }

  /** The live state takes over: the plays under way are no longer recorded here. */
  drop() {
    this.opened = {};
    save(OPEN, null);
  }

  keep(play) {
    this.made.push(play);
    const stored = load(PLAYS, []);
    stored.push({ ...play, zone_id: this.device.zoneId });
    save(PLAYS, stored);
    this.flush();
  }

  /** A reload cut plays short: record them as interrupted where they were last seen. */
  closeInterrupted() {
    const open = load(OPEN, null);
    save(OPEN, null);
    for (const play of open?.plays ?? []) {
      if (open.seenAt > parseTime(play.started_at)) {
        this.keep({ ...play, ended_at: iso(open.seenAt), end_reason: "interrupted" });
      }
    }
  }

  /** Report the stored plays (idempotent by play_id); retry until the server has them. */
  async flush(delay = 2000) {
    if (!this.connected() || this.flushing) return;
    const plays = load(PLAYS, []).filter((p) => p.zone_id === this.device.zoneId);
    if (!plays.length) return;
    this.flushing = true;
    try {
      await api(`/api/devices/${this.device.deviceId}/plays/`, {
        method: "POST", token: this.device.token, body: {
          zone_id: this.device.zoneId, plays: plays.map(({ zone_id: _, ...p }) => p) } });
      const sent = new Set(plays.map((p) => p.play_id));
      save(PLAYS, load(PLAYS, []).filter((p) => !sent.has(p.play_id)));
      delay = 0;
    } catch { /* kept; tried again */ } finally { this.flushing = false; }
    clearTimeout(this.retry);
    this.retry = setTimeout(() => this.flush(Math.min(delay * 2, 30000)), delay || 100);
  }

  /** How many finished plays the server has not accepted yet. */
  unsent() {
    return load(PLAYS, []).length;
  }
}
