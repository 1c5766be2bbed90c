// The server's clock as seen from this browser, and where a zone's audio is by it.
// Positions are server-authoritative: `position_ms` at `position_at` for the music,
// `started_at` for an announcement; we only add the time elapsed since. Under an
// announcement the music is frozen, unless the zone ducks it (it plays on, lower).

/** Milliseconds since the epoch of an ISO 8601 time (any number of fraction digits). */
export function parseTime(iso) {
  if (!iso) return NaN;
  return Date.parse(iso.replace(/(\.\d{3})\d+/, "$1"));
}

export class ServerClock {
  constructor() { this.samples = []; }

  /** A frame stamped `serverTime` arrived now. The sample with the least delay
   * (the largest offset) of the recent ones is the best estimate. */
  observe(serverTime, receivedAt = Date.now()) {
    const t = parseTime(serverTime);
    if (Number.isNaN(t)) return;
    this.samples.push(t - receivedAt);
    if (this.samples.length > 12) this.samples.shift();
  }

  get offset() { return this.samples.length ? Math.max(...this.samples) : 0; }

  now() { return Date.now() + this.offset; }
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
