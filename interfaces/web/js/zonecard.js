// One zone in the console: live now-playing over the zone's WebSocket, the transport
// controls, the folders to play, its devices (with presence) and device pairing.

import { api, allPages, refreshTokens, session } from "./api.js";
import { ServerClock } from "./clock.js";
import { action, fmtDateTime, h, replace, toast } from "./dom.js";
import { ZoneSocket } from "./live.js";
import { NowPlaying } from "./nowplaying.js";

const DEVICE_POLL_MS = 10000;

export class ZoneCard {
  constructor(zone, folders) {
    this.zone = zone;
    this.folders = folders;
    this.clock = new ServerClock();
    this.state = null;
    this.now = new NowPlaying({ onSeek: (ms) => this.command("seek", { position_ms: ms }) });
    this.el = this.build();
    this.socket = new ZoneSocket(zone.id, {
      token: async () => session.get()?.access ?? "",
      clock: this.clock,
      onState: (state) => this.apply(state),
      onStatus: (status) => { this.live.textContent = status; this.live.dataset.status = status; },
      onRefused: async (code) => code === 4401 && refreshTokens(),
    }).start();
    this.timer = setInterval(() => this.now.tick(this.clock.now()), 250);
    this.devicesTimer = setInterval(() => this.loadDevices(), DEVICE_POLL_MS);
    this.loadDevices();
  }

  dispose() {
    this.socket.stop();
    clearInterval(this.timer);
    clearInterval(this.devicesTimer);
  }

  build() {
    this.live = h("span.badge", { dataset: { testid: "zone-live" } }, "connecting");
    this.playPause = h("button", { type: "button",
                                   dataset: { testid: "play-pause" },
                                   on: { click: action(() => this.togglePause()) } }, "Resume");
    this.volume = h("input", { type: "range", min: 0, max: 100, step: 1,
                               "aria-label": "Volume", dataset: { testid: "volume" },
                               on: { change: action(() => this.setVolume()) } });
    this.shuffle = h("input", { type: "checkbox", dataset: { testid: "shuffle" },
                                on: { change: () => { this.shuffleTouched = true; } } });
    this.devices = h("ul.devices", { dataset: { testid: "devices" } });
    this.pairing = h("div.pairing");
    return h("article.card.zone", { dataset: { zoneId: this.zone.id, testid: "zone-card" } },
      h("header", {}, h("h3", {}, this.zone.name), this.live),
      this.now.el,
      h("div.controls", {},
        h("button", { type: "button", title: "Previous",
                      on: { click: action(() => this.command("previous")) } }, "Prev"),
        h("button", { type: "button", title: "From the start", dataset: { testid: "restart" },
                      on: { click: action(() => this.command("restart")) } }, "Restart"),
        this.playPause,
        h("button", { type: "button", title: "Next", dataset: { testid: "next" },
                      on: { click: action(() => this.command("next")) } }, "Next"),
        h("label.volume", {}, "Volume", this.volume)),
      this.folderPicker(),
      h("details", { on: { toggle: (e) => e.target.open && this.loadDevices() } },
        h("summary", {}, "Devices"), this.devices,
        h("button", { type: "button", class: "ghost", dataset: { testid: "pair-device" },
                      on: { click: action(() => this.pair()) } }, "Pair a device"),
        this.pairing));
  }

  folderPicker() {
    const boxes = this.folders.map((f) => h("label.check", {},
      h("input", { type: "checkbox", value: f.id, name: "folder" }),
      ` ${f.name} (${f.item_count})`));
    return h("details.folders", { open: this.folders.length > 0 },
      h("summary", {}, "Play folders"),
      boxes.length ? h("div.checks", {}, boxes) : h("p.muted", {}, "No music folders yet."),
      h("div.row", {},
        h("label.check", {}, this.shuffle, " Shuffle"),
        h("button", { type: "button", dataset: { testid: "play-folders" },
                      on: { click: action(() => this.playFolders()) } }, "Play")));
  }

  apply(state) {
    if (this.state && state.version < this.state.version) return;
    this.state = state;
    this.now.show(state);
    this.now.tick(this.clock.now());
    this.playPause.textContent = state.music_playing ? "Pause" : "Resume";
    if (!this.dragging()) this.volume.value = String(state.volume);
    if (!this.shuffleTouched) this.shuffle.checked = Boolean(state.shuffle);
    this.el.classList.toggle("playing", Boolean(state.is_playing));
  }

  dragging() { return document.activeElement === this.volume; }

  async command(name, extra = {}) {
    const state = await api(`/api/playback/${name}/`, {
      method: "POST", body: { zone_id: this.zone.id, ...extra } });
    this.clock.observe(state.server_time);
    this.apply(state);
  }

  togglePause() {
    return this.command(this.state?.music_playing ? "pause" : "resume");
  }

  setVolume() { return this.command("volume", { volume: Number(this.volume.value) }); }

  async playFolders() {
    const ids = [...this.el.querySelectorAll("input[name=folder]:checked")].map((i) => i.value);
    if (!ids.length) { toast("Pick at least one folder", "error"); return; }
    await this.command("play", { folder_ids: ids, shuffle: this.shuffle.checked });
  }

  async loadDevices() {
    let devices;
    try {
      devices = await allPages(`/api/devices/?zone=${this.zone.id}&page_size=100`);
    } catch {
      return;  // presence is a nice-to-have; the next poll tries again
    }
    replace(this.devices, devices.length ? devices.map((d) => h("li", {
      dataset: { online: String(d.is_online) } },
      h("span.dot", { title: d.is_online ? "online" : "offline" }),
      ` ${d.name} `, h("span.muted", {}, d.last_seen ? `seen ${fmtDateTime(d.last_seen)}` : "")))
      : h("li.muted", {}, "No devices in this zone."));
  }

  async pair() {
    const grant = await api(`/api/zones/${this.zone.id}/pairing-code/`, { method: "POST" });
    replace(this.pairing,
      h("p", {}, "Code ", h("code.code", { dataset: { testid: "pairing-code" } }, grant.code),
        h("span.muted", {}, ` valid until ${fmtDateTime(grant.expires_at)}`)),
      h("p.muted", {}, "Enter it in ", h("a", { href: "/player", target: "_blank" },
        "the web player"), " or on a speaker."));
    this.loadDevices();
  }
}
