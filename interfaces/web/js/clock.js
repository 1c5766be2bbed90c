// The server's clock as seen from this browser, and where a zone's audio is by it.
// Positions are server-authoritative: `position_ms` at `position_at` for the music,
// `started_at` for an announcement; we only add the time elapsed since. Under an
// announcement the music is frozen, unless the zone ducks it (it plays on, lower).

/** Milliseconds since the epoch of an ISO 8601 time (any number of fraction digits). */
export function parseTime(iso) {
  if (!iso) return NaN;
  return Date.parse(iso.replace(/(\.\d{3})\d+/, "$1"));
}

const BEST_OF = 8;  // NTP-style samples kept; the one with the shortest round trip wins

/** This browser's clock in epoch ms, sub-millisecond and monotonic between re-syncs. */
export function localNow() {
  return performance.timeOrigin + performance.now();
}

/** One NTP-style exchange: sent at t0 (ours), received at t1 and answered at t2 (the
 * server's), answer received at t3 (ours). The offset (server − ours) assumes the
 * two legs took equally long; its error is at most half the round trip. */
export function ntpSample(t0, t1, t2, t3) {
  return { offset: ((t1 - t0) + (t2 - t3)) / 2, roundTrip: (t3 - t0) - (t2 - t1) };
}

/** The sample with the shortest round trip (null when none). */
export function bestSample(samples) {
  let best = null;
  for (const s of samples) if (!best || s.roundTrip < best.roundTrip) best = s;
  return best;
}

export class ServerClock {
  constructor() { this.samples = []; this.exchanges = []; }

  /** A frame stamped `serverTime` arrived now: a one-way estimate, used only until
   * an exchange has been answered. The least delayed (largest offset) one wins. */
  observe(serverTime, receivedAt = localNow()) {
    const t = parseTime(serverTime);
    if (Number.isNaN(t)) return;
    this.samples.push(t - receivedAt);
    if (this.samples.length > 12) this.samples.shift();
  }

  /** The message that starts an exchange (`{"type": "time", "t0"}`). */
  request(t0 = localNow()) { return { type: "time", t0 }; }

  /** The server's answer `{t0, t1, t2}` to `request`, received at t3. */
  answer(reply, t3 = localNow()) {
    const { t0, t1, t2 } = reply;
    if (![t0, t1, t2].every(Number.isFinite) || t3 < t0) return null;
    const sample = ntpSample(t0, t1, t2, t3);
    this.exchanges.push(sample);
    if (this.exchanges.length > BEST_OF) this.exchanges.shift();
    return sample;
  }

  /** Half the best round trip: how far off the offset may be (Infinity: no exchange). */
  get error() {
    const best = bestSample(this.exchanges);
    return best ? best.roundTrip / 2 : Infinity;
  }

  get offset() {
    const best = bestSample(this.exchanges);
    if (best) return best.offset;
    return this.samples.length ? Math.max(...this.samples) : 0;
  }

  now() { return localNow() + this.offset; }
}

/** Keeps a ServerClock synced over a socket: a burst of exchanges when it opens,
 * a smaller one every `everyMs` (the best of the last BEST_OF samples wins, so a
 * sample is at most about a minute old). `send(message)` returns false if closed. */
export class ClockSync {
  constructor(clock, send, { burst = 5, resync = 3, spacingMs = 100, everyMs = 30000 } = {}) {
    Object.assign(this, { clock, send, burst, resync, spacingMs, everyMs });
    this.timers = [];
  }

  start() {
    this.stop();
    this.exchange(this.burst);
    this.interval = setInterval(() => this.exchange(this.resync), this.everyMs);
    return this;
  }

  stop() {
    clearInterval(this.interval);
    for (const t of this.timers) clearTimeout(t);
    this.timers = [];
  }

  exchange(count) {
    for (let i = 0; i < count; i += 1) {
      this.timers.push(setTimeout(() => this.send(this.clock.request()), i * this.spacingMs));
    }
    if (this.timers.length > 32) this.timers.splice(0, this.timers.length - 32);
  }

  /** A `{"type": "time"}` answer arrived. */
  received(reply) { return this.clock.answer(reply); }
}

/** What a zone should be sounding at `now` (server ms): the announcement,
 * else the current track; null when nothing is queued. */
export function audible(state, now) {
  if (!state) return null;
  const ann = state.announcement;
  if (ann) {
    const started = parseTime(ann.started_at);
    const elapsed = Number.isNaN(started) ? 0 : now - started;
    return {
      kind: "announcement", item: ann, url: ann.url, mediaKey: ann.media_key,
      durationMs: ann.duration_ms, positionMs: clamp(elapsed, 0, ann.duration_ms),
      playing: true,
    };
  }
  return musicTarget(state, now);
}

export function musicPosition(state, now) {
  const duration = state.current?.duration_ms ?? 0;
  let position = state.position_ms || 0;
  const at = parseTime(state.position_at);
  if (state.music_playing && !musicFrozen(state) && !Number.isNaN(at)) position += now - at;
  return clamp(position, 0, duration);
}

/** An announcement has paused the music (rather than ducked it). */
export function musicFrozen(state) {
  return Boolean(state.announcement) && state.announcement.ducking !== "duck";
}

/** The music at `now` whatever an announcement does to it (null when none is queued). */
export function musicTarget(state, now) {
  const track = state?.current;
  if (!track) return null;
  return {
    kind: "music", item: track, url: track.url, mediaKey: track.media_key,
    durationMs: track.duration_ms, positionMs: musicPosition(state, now),
    playing: Boolean(state.music_playing) && !musicFrozen(state),
  };
}

/** When the next track takes over (server ms), as the zone computes it: the
 * current one's end less the crossfade (at most half the track); NaN if none. */
export function handoverAt(state) {
  const track = state?.current;
  const at = parseTime(state?.position_at);
  if (!track || !state.music_playing || musicFrozen(state) || Number.isNaN(at)) return NaN;
  const overlap = Math.min((state.sound?.crossfade_s || 0) * 1000, Math.floor(track.duration_ms / 2));
  return at + Math.max(0, track.duration_ms - overlap - (state.position_ms || 0));
}

function clamp(value, low, high) { return Math.min(Math.max(value, low), high); }
