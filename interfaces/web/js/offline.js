// Offline playback (docs/device-protocol.md, "Offline playback" and "Reconciliation").
// Online, the zone's horizon (the next hour of tracks and timed announcements) is
// fetched on joining, at each track change and every 10 minutes, and its media cached
// (mediacache.js). When the socket stays down, a local state built from the horizon
// stands in for the zone's live state: the player plays it as it would the server's,
// from the cached files. Each play is recorded and reported once the socket is back
// (playlog.js); the live state takes over again at the next item boundary.

import { api } from "./api.js";
import { parseTime } from "./clock.js";
import { MediaCache } from "./mediacache.js";
import { PlayLog } from "./playlog.js";

const REFRESH_MS = 10 * 60 * 1000;   // the horizon at least this often
const OFFLINE_AFTER_MS = 3000;       // a socket down this long (not a blip): play offline
const TICK_MS = 250;

const iso = (ms) => new Date(ms).toISOString();

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
    this.media = new MediaCache();
    this.plays = new PlayLog(device, () => this.connected);
    this.badge = document.getElementById("offline");
    this.plays.closeInterrupted();
    this.refresher = setInterval(() => this.refresh(), REFRESH_MS);
    this.ticker = setInterval(() => this.tick(), TICK_MS);
  }

  stop() {
    clearInterval(this.refresher);
    clearInterval(this.ticker);
    clearTimeout(this.grace);
    this.plays.stop();
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
    this.plays.flush();
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
      await this.media.store(horizon);
    } catch { /* offline or refused: keep the horizon we have */ }
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
    await this.media.open(this.horizon);
    const frozen = Boolean(state.announcement) && state.announcement.ducking !== "duck";
    this.engine = { tracks, index, seq: 0, position: state.position_ms || 0,
                    at: frozen ? NaN : parseTime(state.position_at), ann: null,
                    pending: this.horizon.announcements.filter(
                      (a) => parseTime(a.at) > this.downSince) };
    const start = this.liveStart?.media === state.current.media_key
      ? this.liveStart.at : parseTime(state.position_at) - (state.position_ms || 0);
    this.plays.start("music", "track", tracks[index], start);
    if (state.announcement) {
      const ann = { ...state.announcement, at: state.announcement.started_at };
      this.startAnnouncement(ann, parseTime(ann.at));
      if (frozen) this.engine.at = NaN;  // resumes when it ends
    }
    this.active = true;
    this.show();
    this.tick();
  }

  tick() {
    if (!this.active) return;
    const now = this.clock.now();
    const before = this.engine.seq;
    if (this.advance(now)) return;  // the live state took over
    this.plays.seen(now);
    if (this.engine.seq !== before) this.onState(this.state());
  }

  /** Move the local state on to `now`; true once the live state has taken over. */
  advance(now) {
    const e = this.engine;
    for (;;) {
      if (e.ann) {
        const end = e.ann.start + e.ann.duration_ms;
        if (now < end) return false;
        this.plays.finish("speech", end);
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
      this.plays.finish("music", end);
      Object.assign(e, { index: e.index + 1, position: 0, at: end, seq: e.seq + 1 });
      if (this.rejoining) return this.rejoin();
      if (e.tracks[e.index]) this.plays.start("music", "track", e.tracks[e.index], end);
    }
  }

  startAnnouncement(ann, at) {
    this.engine.ann = { ...ann, start: at };
    this.engine.seq += 1;
    this.plays.start("speech", "announcement", ann, at);
  }

  /** Back at a boundary with the socket up: follow the live state again. */
  rejoin() {
    this.active = this.rejoining = false;
    this.plays.drop();
    this.show();
    this.plays.flush();
    this.onState(this.live);
    setTimeout(() => this.media.close(), 5000);  // the elements play the live URLs by then
    return true;
  }

  /** The state the player plays while offline, shaped as the live one. */
  state() {
    const e = this.engine;
    const live = this.live;
    const track = e.tracks[e.index];
    const gain = [live.current, live.next].find((t) => t?.media_key === track?.media_key);
    const url = (item) => this.media.url(item);
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

  show() {
    if (!this.badge) return;
    this.badge.hidden = !this.active;
    this.badge.textContent = this.rejoining ? "offline · rejoining at the next item" : "offline";
    this.badge.dataset.rejoining = String(this.rejoining);
  }

  /** For tests and debugging. */
  report() {
    return { active: this.active, rejoining: this.rejoining, made: this.plays.made,
             unsent: this.plays.unsent(), horizon: this.horizon, cached: this.media.keys() };
  }
}
