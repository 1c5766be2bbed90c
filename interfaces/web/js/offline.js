// Offline playback (docs/device-protocol.md, "Offline playback" and "Reconciliation").
// Online, the zone's horizon (the next hour of tracks and timed announcements) is
// fetched on joining, at each track change and every 10 minutes, and each item's
// media is kept in Cache Storage under its media_key (a signed URL changes, the key
// does not), within a budget. When the socket stays down, a local state built from
// the horizon stands in for the zone's live state: the player plays it as it would
// the server's, as blob: URLs of the cached files (no Service Worker: the page is
// already loaded, and blob URLs play without the network). Each play is recorded in
// localStorage and reported once the socket is back; the live state takes over again
// at the next item boundary.

import { api } from "./api.js";
import { parseTime } from "./clock.js";

const CACHE = "s2g-media";
const BUDGET_BYTES = 200 * 1024 * 1024;
const REFRESH_MS = 10 * 60 * 1000;   // the horizon at least this often
const OFFLINE_AFTER_MS = 3000;       // a socket down this long (not a blip): play offline
const TICK_MS = 250;
const PLAYS = "s2g.player.offline-plays";  // finished plays not yet accepted by the server
const OPEN = "s2g.player.open-plays";      // plays under way (closed as interrupted on reload)
const INDEX = "s2g.player.media-index";    // media_key -> {bytes, used}

const load = (key, empty) => {
  try { return JSON.parse(localStorage.getItem(key)) ?? empty; } catch { return empty; }
};
const save = (key, value) => localStorage.setItem(key, JSON.stringify(value));
const iso = (ms) => new Date(ms).toISOString();
const cacheKey = (mediaKey) => `${location.origin}/offline-media/${encodeURIComponent(mediaKey)}`;

export class Offline {
  /** `onState(state)`: play this state (the local one, or the live one again). */
  constructor(device, clock, onState) {
    Object.assign(this, { device, clock, onState });
    this.horizon = null;
    this.live = null;          // the last live state
    this.liveKey = null;
    this.active = false;       // the local state is played
    this.rejoining = false;    // ... until the next boundary (the socket is back)
    this.connected = false;
    this.blobs = new Map();    // media_key -> blob: URL, while active
    this.made = [];            // every play made offline (for tests and debugging)
    this.badge = document.getElementById("offline");
    this.closeInterrupted();
    this.refresher = setInterval(() => this.refresh(), REFRESH_MS);
    this.ticker = setInterval(() => this.tick(), TICK_MS);
  }

  stop() {
    clearInterval(this.refresher);
    clearInterval(this.ticker);
    clearTimeout(this.grace);
    clearTimeout(this.retry);
  }

  /** A live state arrived (the socket is admitted): what to play (it, unless the
   * local state still plays, until the next boundary). */
  follow(state) {
    this.live = state;
    if (!this.connected) this.reconnected();
    const key = `${state.play_seq}:${state.queue_position}:${state.current?.media_key}`;
    if (key !== this.liveKey) {
      this.liveKey = key;
      const started = parseTime(state.position_at) - (state.position_ms || 0);
      this.liveStart = { media: state.current?.media_key, at: started };
      this.refresh();
    }
    return this.active ? this.state() : state;
  }

  reconnected() {
    this.connected = true;
    clearTimeout(this.grace);
    this.grace = null;
    if (this.active) this.rejoining = true;
    this.show();
    this.flush();
  }

  /** The socket's status (live, connecting, offline, refused): "live" counts once a
   * state arrives (an opened socket may still be refused). */
  status(status) {
    if (status === "live") return;
    this.connected = false;
    if (this.active) {
      this.rejoining = false;  // down again before the boundary: stay offline
      this.show();
    } else if (!this.grace) {
      this.downSince = this.clock.now();
      this.grace = setTimeout(() => { this.grace = null; this.begin(); }, OFFLINE_AFTER_MS);
    }
  }

  async refresh() {
    if (!this.connected && this.horizon) return;
    try {
      const horizon = await api(`/api/zones/${this.device.zoneId}/horizon/`,
                                { token: this.device.token });
      this.horizon = horizon;
      // One caching pass at a time: the next one finds what this one stored.
      this.caching = (this.caching ?? Promise.resolve()).then(() => this.cacheMedia(horizon))
        .catch(() => {});
      await this.caching;
    } catch { /* offline or refused: keep the horizon we have */ }
  }

  /** Cache each item's media under its media_key, earliest first, within the budget;
   * what left the horizon goes first, then what was used longest ago. */
  async cacheMedia(horizon) {
    const cache = await caches.open(CACHE);
    const index = load(INDEX, {});
    const wanted = [...horizon.tracks, ...horizon.announcements];
    const keep = new Set(wanted.map((i) => i.media_key));
    for (const item of wanted) {
      if (index[item.media_key] && await cache.match(cacheKey(item.media_key))) {
        index[item.media_key].used = Date.now();
        continue;
      }
      const res = await fetch(item.url);
      if (!res.ok) continue;
      const blob = await res.blob();
      if (!(await this.makeRoom(cache, index, keep, blob.size))) break;
      await cache.put(cacheKey(item.media_key), new Response(blob, {
        headers: { "Content-Type": item.content_type || blob.type } }));
      index[item.media_key] = { bytes: blob.size, used: Date.now() };
      save(INDEX, index);
    }
    save(INDEX, index);
  }

  async makeRoom(cache, index, keep, bytes) {
    const used = () => Object.values(index).reduce((sum, e) => sum + e.bytes, 0);
    const victims = Object.keys(index).filter((k) => !keep.has(k))
      .sort((a, b) => index[a].used - index[b].used);
    while (used() + bytes > BUDGET_BYTES && victims.length) {
      const key = victims.shift();
      await cache.delete(cacheKey(key));
      delete index[key];
    }
    return used() + bytes <= BUDGET_BYTES;
  }

  /** The socket stayed down: play the horizon from where the live state was. */
  async begin() {
    const state = this.live;
    const tracks = this.horizon?.tracks ?? [];
    if (this.active || this.connected || !state?.current || !state.music_playing) return;
    let index = tracks.findIndex((t) => t.queue_position === state.queue_position
                                        && t.media_key === state.current.media_key);
    if (index < 0) index = tracks.findIndex((t) => t.media_key === state.current.media_key);
    if (index < 0) return;
    await this.openBlobs();
    const frozen = Boolean(state.announcement) && state.announcement.ducking !== "duck";
    this.engine = { tracks, index, seq: 0, position: state.position_ms || 0,
                    at: frozen ? NaN : parseTime(state.position_at), ann: null,
                    pending: this.horizon.announcements.filter(
                      (a) => parseTime(a.at) > this.downSince) };
    const start = this.liveStart?.media === state.current.media_key
      ? this.liveStart.at : parseTime(state.position_at) - (state.position_ms || 0);
    this.opened = { music: this.record("track", tracks[index], start) };
    if (state.announcement) {
      const ann = { ...state.announcement, at: state.announcement.started_at };
      this.startAnnouncement(ann, parseTime(ann.at));
      if (frozen) this.engine.at = NaN;  // resumes when it ends
    }
    this.active = true;
    this.show();
    this.tick();
  }

  async openBlobs() {
    const cache = await caches.open(CACHE);
    const items = [...this.horizon.tracks, ...this.horizon.announcements];
    for (const key of new Set(items.map((i) => i.media_key))) {
      const res = await cache.match(cacheKey(key));
      if (res && !this.blobs.has(key)) this.blobs.set(key, URL.createObjectURL(await res.blob()));
    }
  }

  tick() {
    if (!this.active) return;
    const now = this.clock.now();
    const before = this.engine.seq;
    if (this.advance(now)) return;  // the live state took over
    save(OPEN, { seenAt: now, plays: Object.values(this.opened).filter(Boolean) });
    if (this.engine.seq !== before) this.onState(this.state());
  }

  /** Move the local state on to `now`; true once the live state has taken over. */
  advance(now) {
    const e = this.engine;
    for (;;) {
      if (e.ann) {
        const end = e.ann.start + e.ann.duration_ms;
        if (now < end) return false;
        this.finish("speech", end);
        e.ann = null;
        e.seq += 1;
        if (Number.isNaN(e.at)) e.at = end;  // the music resumes where it was
        if (this.rejoining) return this.rejoin();
        continue;
      }
      const track = e.tracks[e.index];
      if (!track || Number.isNaN(e.at)) return false;
      const end = e.at + track.duration_ms - e.position;
      const ann = e.pending[0];
      if (ann && parseTime(ann.at) <= Math.min(now, end)) {
        e.pending.shift();
        e.position += parseTime(ann.at) - e.at;
        e.at = NaN;
        this.startAnnouncement(ann, parseTime(ann.at));
        continue;
      }
      if (end > now) return false;
      this.finish("music", end);
      Object.assign(e, { index: e.index + 1, position: 0, at: end, seq: e.seq + 1 });
      if (this.rejoining) return this.rejoin();
      if (e.tracks[e.index]) this.opened.music = this.record("track", e.tracks[e.index], end);
    }
  }

  startAnnouncement(ann, at) {
    this.engine.ann = { ...ann, start: at };
    this.engine.seq += 1;
    this.opened.speech = this.record("announcement", ann, at);
  }

  /** Back at a boundary with the socket up: follow the live state again. */
  rejoin() {
    this.active = this.rejoining = false;
    this.opened = {};
    save(OPEN, null);
    this.show();
    this.flush();
    this.onState(this.live);
    setTimeout(() => {  // the elements have moved to the live URLs by then
      for (const url of this.blobs.values()) URL.revokeObjectURL(url);
      this.blobs.clear();
    }, 5000);
    return true;
  }

  /** The state the player plays while offline, shaped as the live one. */
  state() {
    const e = this.engine;
    const live = this.live;
    const track = e.tracks[e.index];
    const gain = [live.current, live.next].find((t) => t?.media_key === track?.media_key);
    const url = (item) => this.blobs.get(item.media_key) ?? item.url;
    return {
      ...live, next: null, pending_announcements: [], play_seq: `offline-${e.seq}`,
      sound: { ...live.sound, crossfade_s: 0 },
      current: track ? { ...track, url: url(track), gain_db: gain?.gain_db ?? 0 } : null,
      queue_position: track?.queue_position, music_playing: Boolean(track),
      position_ms: e.position, position_at: iso(Number.isNaN(e.at) ? this.clock.now() : e.at),
      announcement: e.ann ? { ...e.ann, url: url(e.ann), started_at: iso(e.ann.start),
                              ducking: "pause" } : null,
    };
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
    if (!this.connected || this.flushing) return;
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

  show() {
    if (!this.badge) return;
    this.badge.hidden = !this.active;
    this.badge.textContent = this.rejoining ? "offline · rejoining at the next item" : "offline";
    this.badge.dataset.rejoining = String(this.rejoining);
  }

  /** For tests and debugging. */
  report() {
    return { active: this.active, rejoining: this.rejoining, made: this.made,
             unsent: load(PLAYS, []).length, horizon: this.horizon,
             cached: Object.keys(load(INDEX, {})) };
  }
}
