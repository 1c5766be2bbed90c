// The web player page: pairing with a code makes this browser a device of a zone
// (stored, so a reload plays on); the zone's player (zoneplayer.js) then plays it.
// The page shows the socket's status, the button that starts audio when the browser
// wants a user gesture, and unpairs.

import { api } from "./api.js";
import { toast } from "./dom.js";
import { Player } from "./zoneplayer.js";

const KEY = "s2g.player.device";
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

let player = null;

function setStatus(status) {
  const badge = $("status");
  badge.textContent = status;
  badge.dataset.status = status;
}

function showStartAudio(shown) {
  $("start-audio").hidden = !shown;
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
  player = new Player(device, { setStatus, forget, showStartAudio });
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
  showStartAudio(false);
  player?.context.resume().then(() => player?.sync(), (e) => toast(e.message, "error"));
});
// Read-only, for tests and debugging: the gains it applies, where it plays (zone sync).
window.s2gPlayer = { gains: () => player?.gains() ?? null,
                     position: () => player?.position() ?? null,
                     offline: () => player?.offline.report() ?? null };

const saved = stored.get();
if (saved?.token && saved?.zoneId) start(saved); else showPairing();
