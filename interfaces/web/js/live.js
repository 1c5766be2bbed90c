// A zone's live state over `/ws/playback/{zone}/?token=`: reconnects on its own with
// jittered back-off, after a drop, a silent dead link (no answer to our pings) or
// when the browser comes back online. Close codes 4401/4403/4404 go to `onRefused`,
// which may fix the cause (refresh a token) and answer true to try again.

import { ClockSync } from "./clock.js";

const REFUSED = new Set([4401, 4403, 4404]);

export class ZoneSocket {
  constructor(zoneId, { token, clock, onState, onStatus = () => {}, onRefused = async () => false,
                        pingEveryMs = 10000 }) {
    Object.assign(this, { zoneId, token, clock, onState, onStatus, onRefused, pingEveryMs });
    this.ws = null;
    this.attempt = 0;
    this.stopped = true;
    this.version = -1;
    // NTP-style exchanges keep the clock on the server's while the socket is open.
    this.clockSync = clock?.request ? new ClockSync(clock, (m) => this.send(m)) : null;
    this.online = () => { if (!this.isOpen()) this.reconnectNow(); };
  }

  start() {
    this.stopped = false;
    window.addEventListener("online", this.online);
    this.ping = setInterval(() => this.keepAlive(), this.pingEveryMs);
    this.connect();
    return this;
  }

  stop() {
    this.stopped = true;
    clearInterval(this.ping);
    clearTimeout(this.retry);
    this.clockSync?.stop();
    window.removeEventListener("online", this.online);
    if (this.ws) this.ws.onclose = null;
    this.ws?.close(1000);
    this.ws = null;
  }

  isOpen() { return this.ws?.readyState === WebSocket.OPEN; }

  send(message) {
    if (!this.isOpen()) return false;
    this.ws.send(JSON.stringify(message));
    return true;
  }

  async connect() {
    if (this.stopped) return;
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const token = encodeURIComponent(await this.token());
    const ws = new WebSocket(`${scheme}://${location.host}/ws/playback/${this.zoneId}/?token=${token}`);
    this.ws = ws;
    this.onStatus("connecting");
    ws.onopen = () => {
      this.attempt = 0;
      this.lastHeard = Date.now();
      this.admitted = false;
      this.onStatus("live");
    };
    ws.onmessage = (event) => this.receive(event.data);
    ws.onclose = (event) => { if (this.ws === ws) this.closed(event.code); };
  }

  receive(data) {
    this.lastHeard = Date.now();
    let frame;
    try { frame = JSON.parse(data); } catch { return; }
    if (frame.type === "time") this.clockSync?.received(frame);
    if (frame.type !== "zone.state") return;
    this.clock?.observe(frame.server_time);
    if (!this.admitted) {  // exchanges sent before admission would wait for it
      this.admitted = true;
      this.clockSync?.start();
    }
    if (frame.version < this.version) return;
    this.version = frame.version;
    this.onState(frame.state, frame);
  }

  async closed(code) {
    this.ws = null;
    if (this.stopped) return;
    if (REFUSED.has(code)) {
      this.onStatus("refused");
      if (!(await this.onRefused(code))) return;
    }
    this.onStatus("offline");
    const delay = Math.min(500 * 2 ** this.attempt, 10000) * (0.75 + Math.random() / 2);
    this.attempt += 1;
    this.retry = setTimeout(() => this.connect(), delay);
  }

  reconnectNow() {
    clearTimeout(this.retry);
    this.attempt = 0;
    this.drop();
  }

  /** Forget the current socket at once (a dead link may never finish closing). */
  drop() {
    const ws = this.ws;
    if (ws) {
      ws.onclose = ws.onmessage = null;
      try { ws.close(4000); } catch { /* already closed */ }
    }
    this.closed(1006);
  }

  /** Heartbeats are answered with an ack; a link that stays silent is dead. */
  keepAlive() {
    if (!this.isOpen()) return;
    if (Date.now() - this.lastHeard > 2.5 * this.pingEveryMs) {
      this.drop();
      return;
    }
    this.send({ type: "heartbeat" });
  }
}
