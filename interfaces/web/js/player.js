// The web player: paired with a code, it is a device of that zone. It plays what the
// zone's live state says through one <audio> element, at the server's position,
// switches to announcements and back, reports heartbeats and ended items, and
// reconnects on its own.

import { api } from "./api.js";
import { ServerClock, audible } from "./clock.js";
import { toast } from "./dom.js";
import { ZoneSocket } from "./live.js";
import { NowPlaying } from "./nowplaying.js";

const KEY = "s2g.player.device";
const DRIFT_MS = 1000;       // correct the audio when it is further off than this
const HEARTBEAT_MS = 10000;  // presence lives for 30 s on the server
const $ = (id) => document.getElementById(id);

const stored = {
  get() { try { return JSON.parse(localStorage.getItem(KEY)); } catch { return null; } },
  set(value) { localStorage.setItem(KEY, JSON.stringify(value)); },
  clear() { localStorage.removeItem(KEY); },
};

function hardwareId() {
  const previous = stored.get()?.hardwareId;
  return previous || `web-${crypto.randomUUID()}`;
}

class Player {
  constructor(device) {
    this.device = device;
    this.audio = $("audio");
    this.clock = new ServerClock();
    this.state = null;
    this.item = null;  // what the audio element holds, and the play it belongs to
    this.view = new NowPlaying();
    $("now-playing").replaceChildren(this.view.el);
    $("device-name").textContent = device.name;
    this.audio.addEventListener("ended", () => this.ended());
    this.audio.addEventListener("loadedmetadata", () => this.sync());
    this.audio.addEventListener("error", () => this.mediaError());
    this.socket = new ZoneSocket(device.zoneId, {
      token: async () => this.device.token, clock: this.clock, pingEveryMs: HEARTBEAT_MS,
      onState: (state) => { this.state = state; this.sync(); },
      onStatus: (status) => {
        setStatus(status);
        if (status === "live") this.socket.send({ type: "heartbeat" });
      },
      onRefused: async (code) => { forget(`This player was unpaired (${code}). Pair it again.`); },
    }).start();
    this.timer = setInterval(() => this.sync(), 1000);
    this.ticker = setInterval(() => this.view.tick(this.clock.now()), 250);
  }

  stop() {
    this.socket.stop();
    clearInterval(this.timer);
    clearInterval(this.ticker);
    this.audio.pause();
    this.audio.removeAttribute("src");
    this.audio.load();
  }

  /** Make the audio element match what the zone should sound like now. */
  sync() {
    const state = this.state;
    if (!state) return;
    $("zone-name").textContent = state.name || "";
    this.view.show(state);
    this.audio.volume = Math.min(Math.max((state.volume ?? 100) / 100, 0), 1);
    const target = audible(state, this.clock.now());
    if (!target) {
      this.audio.pause();
      return;
    }
    // An announcement is a new item each time it starts; a track is the same file
    // whatever the state around it (pause, seek, volume) does.
    const identity = `${target.kind}:${target.mediaKey}` +
      (target.kind === "announcement" ? `:${state.play_seq}` : "");
    if (identity !== this.item?.identity) {
      this.audio.src = target.url;
      this.audio.currentTime = target.positionMs / 1000;  // applied once it loads
    }
    this.item = { identity, kind: target.kind, playSeq: state.play_seq,
                  queuePosition: state.queue_position };
    this.follow(target);
  }

  follow(target) {
    const audio = this.audio;
    if (audio.readyState >= HTMLMediaElement.HAVE_METADATA && !audio.seeking) {
      const drift = Math.abs(audio.currentTime * 1000 - target.positionMs);
      const atEnd = audio.ended && target.positionMs >= target.durationMs - DRIFT_MS;
      if (drift > DRIFT_MS && !atEnd) audio.currentTime = target.positionMs / 1000;
    }
    if (!target.playing) {
      audio.pause();
    } else if (audio.paused && !audio.ended) {
      audio.play().then(() => { $("start-audio").hidden = true; }, (e) => {
        if (e.name === "NotAllowedError") $("start-audio").hidden = false;
      });
    }
  }

  /** The item we were playing ended: tell the zone (it moves on once, whoever reports).
   * Only while the zone agrees it is near its end: if the zone already moved on to
   * the same file again (a one-track loop), that new play must not be cut short. */
  ended() {
    const item = this.item;
    const target = audible(this.state, this.clock.now());
    if (!item || !target || target.positionMs < target.durationMs - 2 * DRIFT_MS) {
      this.sync();
      return;
    }
    const report = { type: "ended", play_seq: item.playSeq };
    if (item.kind === "music") report.queue_position = item.queuePosition;
    this.socket.send(report);
  }

  /** A signed URL may have expired: ask for a fresh state (fresh URLs), reload. */
  mediaError() {
    if (!this.audio.getAttribute("src")) return;
    this.item = null;
    this.socket.send({ type: "sync" });
  }
}

let player = null;

function setStatus(status) {
  const badge = $("status");
  badge.textContent = status;
  badge.dataset.status = status;
}

function showPairing(message = "") {
  $("play-view").hidden = true;
  $("pair-view").hidden = false;
  $("pair-error").textContent = message;
  setStatus("not paired");
}

function forget(message) {
  player?.stop();
  player = null;
  const previous = stored.get();
  stored.set({ hardwareId: previous?.hardwareId, name: previous?.name });
  showPairing(message);
}

function start(device) {
  $("pair-view").hidden = true;
  $("play-view").hidden = false;
  player = new Player(device);
}

async function pair(event) {
  event.preventDefault();
  const form = Object.fromEntries(new FormData(event.currentTarget));
  const device = { hardwareId: hardwareId(), name: form.name.trim() };
  try {
    const grant = await api("/api/devices/pair/", { method: "POST", token: "", body: {
      code: form.code.trim(), device_id: device.hardwareId, name: device.name,
      device_type: "browser", model: navigator.userAgent.slice(0, 100) } });
    Object.assign(device, { token: grant.token, zoneId: grant.device.zone,
                            deviceId: grant.device.id });
    stored.set(device);
    event.target.reset();
    start(device);
  } catch (e) {
    $("pair-error").textContent = e.message;
  }
}

$("pair-form").addEventListener("submit", pair);
$("pair-form").elements.name.value = stored.get()?.name || "Web player";
$("unpair").addEventListener("click", () => forget("Unpaired."));
$("start-audio").addEventListener("click", () => {
  $("start-audio").hidden = true;
  player?.sync();
  player?.audio.play().catch((e) => toast(e.message, "error"));
});

const saved = stored.get();
if (saved?.token && saved?.zoneId) start(saved); else showPairing();
