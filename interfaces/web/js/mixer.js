// Web Audio for the player: each <audio> element plays through its own GainNode to
// the speakers. Gains are planned on the server clock (ramps for crossfades and
// ducking), so every device of a zone changes level at the same moment.

/** The linear gain of `db` decibels (1 when unknown). */
export function dbGain(db) {
  return Number.isFinite(db) ? 10 ** (db / 20) : 1;
}

export class Channel {
  constructor(context, audio, clock) {
    this.context = context;
    this.audio = audio;
    this.clock = clock;
    this.node = context.createGain();
    context.createMediaElementSource(audio).connect(this.node).connect(context.destination);
    this.identity = null;
    this.planned = null;
  }

  get gain() { return this.node.gain.value; }

  /** Load `url` as `identity` at `positionMs`, unless it holds it already. */
  load(identity, url, positionMs) {
    if (identity === this.identity) return;
    this.identity = identity;
    this.audio.src = url;
    this.audio.currentTime = positionMs / 1000;  // applied once it loads
  }

  stop() {
    this.identity = this.planned = null;
    this.audio.pause();
    if (!this.audio.getAttribute("src")) return;
    this.audio.removeAttribute("src");
    this.audio.load();
  }

  /** Plan the gain: each step reaches `value` by a linear ramp of `ramp` ms starting
   * at `at` (server ms; null: now). A plan already made is left running. */
  plan(steps) {
    const key = JSON.stringify(steps);
    if (key === this.planned) return;
    this.planned = key;
    const param = this.node.gain;
    const now = this.context.currentTime;
    const serverNow = this.clock.now();
    let value = param.value;
    param.cancelScheduledValues(now);
    param.setValueAtTime(value, now);
    for (const step of steps) {
      const start = now + Math.max(0, step.at == null ? 0 : (step.at - serverNow) / 1000);
      const end = Math.max(start, now + Math.max(0, ((step.at ?? serverNow) + step.ramp
                                                      - serverNow) / 1000));
      param.setValueAtTime(value, start);
      if (end > start) param.linearRampToValueAtTime(step.value, end);
      else param.setValueAtTime(step.value, start);
      value = step.value;
    }
  }
}
