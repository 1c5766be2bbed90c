// One zone's player: a paired device of that zone, it plays what the zone's live state
// says at the server's position, each <audio> element through its own gain (mixer.js):
// the track's loudness gain times the zone volume, crossfades into the next track, and
// announcements that duck the music or pause it. It reports heartbeats and ended
// items, and reconnects on its own. The page (player.js) pairs it and shows its status.

import { ServerClock, audible, handoverAt, musicTarget, parseTime } from "./clock.js";
import { DRIFT_MS, follow, steerTo } from "./follow.js";
import { ZoneSocket } from "./live.js";
import { Channel, dbGain } from "./mixer.js";
import { NowPlaying } from "./nowplaying.js";
import { Offline } from "./offline.js";

const STEER_MS = 200;        // zone sync: how often the audio is steered (drift.js)
const HEARTBEAT_MS = 10000;  // presence lives for 30 s on the server
const DUCK_RAMP_MS = 500;    // the music goes down (and back up) this fast around speech
const PRELOAD_MS = 5000;     // the next track is loaded this long before a crossfade
const $ = (id) => document.getElementById(id);

export class Player {
  /** `page`: what the page shows of it, `{setStatus(status), forget(message),
   * showStartAudio(shown)}` (the button that gives audio its user gesture). */
  constructor(device, page) {
    this.device = device;
    this.page = page;
    this.clock = new ServerClock();
    this.context = new AudioContext();
    const channel = (id) => new Channel(this.context, $(id), this.clock);
    this.music = channel("music-a");  // the current track
    this.spare = channel("music-b");  // the next one in a crossfade (or the last, fading out)
    this.speech = channel("announcement");
    // A play() the browser refused needs a user gesture; one allowed once audio runs
    // means the gesture was given.
    this.autoplay = (allowed) => {
      if (!allowed) page.showStartAudio(true);
      else if (this.context.state === "running") page.showStartAudio(false);
    };
    this.state = null;
    this.view = new NowPlaying();
    $("now-playing").replaceChildren(this.view.el);
    $("device-name").textContent = device.name;
    for (const ch of [this.music, this.spare, this.speech]) {
      ch.audio.addEventListener("ended", () => this.ended(ch));
      ch.audio.addEventListener("loadedmetadata", () => this.sync());
      ch.audio.addEventListener("error", () => this.mediaError(ch));
    }
    // Offline playback: the horizon cached, a local state while the socket is down.
    this.offline = new Offline(device, this.clock, (state) => { this.state = state; this.sync(); });
    this.socket = new ZoneSocket(device.zoneId, {
      token: async () => this.device.token, clock: this.clock, pingEveryMs: HEARTBEAT_MS,
      onState: (state) => { this.state = this.offline.follow(state); this.sync(); },
      onStatus: (status) => {
        page.setStatus(status);
        this.offline.status(status);
        if (status === "live") this.socket.send({ type: "heartbeat" });
      },
      onRefused: async (code) => {
        page.forget(`This player was unpaired (${code}). Pair it again.`);
      },
    }).start();
    this.timer = setInterval(() => this.sync(), 1000);
    this.ticker = setInterval(() => this.view.tick(this.clock.now()), 250);
    this.steerer = setInterval(() => this.steer(), STEER_MS);
  }

  stop() {
    this.socket.stop();
    this.offline.stop();
    clearInterval(this.timer);
    clearInterval(this.ticker);
    clearInterval(this.steerer);
    clearTimeout(this.handoverTimer);
    for (const ch of [this.music, this.spare, this.speech]) ch.stop();
    this.context.close();
  }

  /** Current gains of the music, next-track and announcement nodes (for tests). */
  gains() {
    return { music: this.music.gain, next: this.spare.gain, announcement: this.speech.gain };
  }

  /** Zone sync between syncs: keep the audible elements on the zone's position. */
  steer() {
    const state = this.state;
    if (!state) return;
    const now = this.clock.now();
    const speech = state.announcement ? audible(state, now) : null;
    if (speech && this.speech.identity) steerTo(this.speech.audio, speech);
    const music = musicTarget(state, now);
    if (music && this.music.identity === `music:${music.mediaKey}`) {
      steerTo(this.music.audio, music);
    }
  }

  /** Where the audible item is on the server clock, read at one instant (for tests
   * and measurements): `{server_ms, position_ms, item_id, ...}`. */
  position() {
    const state = this.state;
    const ch = state?.announcement && this.speech.identity ? this.speech : this.music;
    const audio = ch.audio;
    const now = this.clock.now();
    const target = state && (ch === this.speech ? audible(state, now) : musicTarget(state, now));
    return { server_ms: now, position_ms: audio.currentTime * 1000, item_id: ch.identity,
             target_ms: target?.positionMs ?? null, paused: audio.paused,
             rate: audio.playbackRate, clock_error_ms: this.clock.error };
  }

  /** Make the audio elements match what the zone should sound like now. */
  sync() {
    const state = this.state;
    if (!state) return;
    $("zone-name").textContent = state.name || "";
    this.view.show(state);
    if (this.context.state === "suspended") {  // no user gesture yet: ask for one
      this.page.showStartAudio(true);
      this.context.resume().then(() => { this.page.showStartAudio(false); }, () => {});
    }
    const now = this.clock.now();
    const speech = state.announcement ? audible(state, now) : null;
    this.syncSpeech(state, speech);
    this.syncMusic(state, musicTarget(state, now), now);
    this.music.audio.dataset.role = "music";
    this.spare.audio.dataset.role = "next";
    const main = speech ? this.speech : this.music;  // what the zone mainly sounds like
    for (const ch of [this.music, this.spare, this.speech]) {
      ch.audio.toggleAttribute("data-audible", ch === main);
    }
  }

  /** The zone volume times the item's loudness gain. */
  level(state, item) {
    const volume = Math.min(Math.max((state.volume ?? 100) / 100, 0), 1);
    return volume * dbGain(item?.gain_db ?? 0);
  }

  syncSpeech(state, target) {
    if (!target) {
      this.speech.stop();
      return;
    }
    // An announcement is a new item each time it starts (the same file may repeat).
    this.speech.load(`announcement:${target.mediaKey}:${state.play_seq}`, target.url,
                     target.positionMs);
    this.speech.plan([{ value: this.level(state, target.item), at: null, ramp: 50 }]);
    follow(this.speech.audio, target, this.autoplay);
  }

  syncMusic(state, target, now) {
    if (!target) {
      this.music.stop();
      this.spare.stop();
      return;
    }
    // A track is the same file whatever the state around it (pause, seek, volume) does.
    const identity = `music:${target.mediaKey}`;
    if (identity !== this.music.identity && identity === this.spare.identity) {
      [this.music, this.spare] = [this.spare, this.music];  // the crossfade's track took over
    }
    if (identity !== this.music.identity) this.music.fadeIn = null;
    this.music.load(identity, target.url, target.positionMs);
    const handover = this.crossfade(state, now);
    this.music.plan(this.musicPlan(state, handover, now));
    follow(this.music.audio, target, this.autoplay);
  }

  /** The music's gain: full, ducked around a ducking announcement, faded into and
   * out of by a crossfade. */
  musicPlan(state, handover, now) {
    const full = this.level(state, state.current);
    const fadeIn = this.music.fadeIn;
    const steps = [fadeIn && now < fadeIn.at + fadeIn.ramp
      ? { value: full, ...fadeIn } : { value: full, at: null, ramp: 100 }];
    const ann = state.announcement;
    if (ann?.ducking === "duck") {
      const start = parseTime(ann.started_at);
      steps[0] = { value: full * (state.sound?.duck_level ?? 100) / 100, at: start,
                   ramp: DUCK_RAMP_MS };
      if (!state.pending_announcements?.length) {
        steps.push({ value: full, at: start + ann.duration_ms, ramp: DUCK_RAMP_MS });
      }
    }
    if (handover) steps.push({ value: 0, ...handover });
    return steps;
  }

  /** Crossfade: from the handover the next track plays on the spare element, fading
   * in while the current one fades out. Returns the fade-out ({at, ramp}) if any. */
  crossfade(state, now) {
    const spare = this.spare;
    if (spare.fadeEnd && now < spare.fadeEnd) return null;  // the last track fading out
    spare.fadeEnd = 0;
    const next = state.next;
    const at = handoverAt(state);
    const fade = Math.min((state.sound?.crossfade_s || 0) * 1000,
                          Math.floor(state.current.duration_ms / 2));
    if (!fade || !next || Number.isNaN(at) || state.announcement?.ducking === "pause"
        || next.media_key === state.current.media_key || now < at - PRELOAD_MS) {
      spare.stop();
      return null;
    }
    spare.load(`music:${next.media_key}`, next.url, Math.max(0, now - at));
    spare.fadeIn = { at, ramp: fade };
    spare.fadeEnd = 0;
    spare.plan([{ value: 0, at: null, ramp: 0 }, { value: this.level(state, next), at,
                                                     ramp: fade }]);
    clearTimeout(this.handoverTimer);
    if (now < at) {
      spare.audio.pause();
      this.handoverTimer = setTimeout(() => this.sync(), at - now);
    } else {
      follow(spare.audio, { positionMs: now - at, durationMs: next.duration_ms, playing: true },
             this.autoplay);
      this.music.fadeEnd = at + fade;  // once swapped, the old track fades out till then
      this.reportHandover(state);
    }
    return { at, ramp: fade };
  }

  /** The next track took over by the clock: say so once (the zone moves on once). */
  reportHandover(state) {
    const key = `${state.play_seq}:${state.queue_position}`;
    if (this.handedOver === key || this.offline.active) return;
    this.handedOver = key;
    this.socket.send({ type: "ended", play_seq: state.play_seq,
                       queue_position: state.queue_position });
  }

  /** An element's item ended: tell the zone (it moves on once, whoever reports).
   * Only while the zone agrees it is near its end: if the zone already moved on to
   * the same file again (a one-track loop), that new play must not be cut short.
   * Music under a ducking announcement moves on by the server's clock. */
  ended(channel) {
    const state = this.state;
    const now = this.clock.now();
    let target = null;
    if (channel === this.speech && state?.announcement) target = audible(state, now);
    if (channel === this.music && state && !state.announcement) target = musicTarget(state, now);
    if (!target || target.positionMs < target.durationMs - 2 * DRIFT_MS
        || this.offline.active) {  // offline, the local state moves on by the clock
      this.sync();
      return;
    }
    const report = { type: "ended", play_seq: state.play_seq };
    if (target.kind === "music") report.queue_position = state.queue_position;
    this.socket.send(report);
  }

  /** A signed URL may have expired: ask for a fresh state (fresh URLs), reload. */
  mediaError(channel) {
    if (!channel.audio.getAttribute("src") || this.offline.active) return;
    channel.identity = null;
    this.socket.send({ type: "sync" });
  }
}
