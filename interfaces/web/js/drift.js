// Zone sync: every device of a zone plays the same moment. Each <audio> element is
// steered towards where the zone is on the server clock: a small drift is taken up
// by nudging its playbackRate (inaudible, no gap), a large one by a seek. A seek
// does not land where it aims (the decoder restarts while time goes on), so the
// element learns how far it lands behind and aims that much ahead next time.

export const SEEK_MS = 250;      // further off than this: jump
export const SETTLED_MS = 10;    // within this: play at the normal rate
export const NUDGE_MIN = 0.02;   // the smallest and largest rate change of a nudge
export const NUDGE_MAX = 0.05;
const SETTLING_MS = 3000;        // just after a load or seek, a landing off by more
const RESEEK_MS = 40;            // than this is fixed by another (aimed) seek
const RESEEKS = 2;
const LEAD_MAX_MS = 500;

/** What to do about `driftMs` (the element's position less the zone's; positive:
 * ahead): `{seek: true}` or the playbackRate that takes it up. A pure function. */
export function correction(driftMs) {
  const size = Math.abs(driftMs);
  if (size > SEEK_MS) return { seek: true, rate: 1 };
  if (size <= SETTLED_MS) return { seek: false, rate: 1 };
  // About a second to take it up, within the bounds of a nudge.
  const nudge = Math.min(NUDGE_MAX, Math.max(NUDGE_MIN, size / 1000));
  return { seek: false, rate: driftMs > 0 ? 1 - nudge : 1 + nudge };
}

/** One element's steering state. */
export class Steering {
  constructor(audio) {
    this.audio = audio;
    this.lead = 0;         // ms a seek lands behind its aim, learnt
    this.src = null;
    this.since = 0;        // performance.now() of the last load or seek
    this.reseeks = 0;
    this.landing = false;  // a seek was made whose landing is not measured yet
  }

  /** Steer towards `positionMs` (where the zone is now); `playing`: it should play. */
  steer(positionMs, playing) {
    const audio = this.audio;
    if (audio.readyState < HTMLMediaElement.HAVE_METADATA || audio.seeking) return;
    if (audio.currentSrc !== this.src) {  // a new item: it was loaded at its position
      Object.assign(this, { src: audio.currentSrc, since: performance.now(), reseeks: 0 });
      this.landing = true;
    }
    const drift = audio.currentTime * 1000 - positionMs;
    if (!playing || audio.paused) {  // paused: put where it belongs (or will, once started)
      this.rate(1);
      const aim = positionMs + (playing ? this.lead : 0);
      if (Math.abs(audio.currentTime * 1000 - aim) > SETTLED_MS) {
        Object.assign(this, { since: performance.now(), landing: playing });
        audio.currentTime = aim / 1000;
      }
      return;
    }
    if (this.landing) this.learn(drift);
    const settling = performance.now() - this.since < SETTLING_MS;
    const { seek, rate } = correction(drift);
    if (seek || (settling && this.reseeks < RESEEKS && Math.abs(drift) > RESEEK_MS)) {
      this.seek(positionMs, seek);
    } else {
      this.rate(rate);
    }
  }

  /** A playing element's first drift after a load or seek: how far off it landed. */
  learn(drift) {
    this.landing = false;
    if (Math.abs(drift) <= SEEK_MS) {
      this.lead = Math.min(LEAD_MAX_MS, Math.max(0, this.lead - drift));
    }
  }

  seek(positionMs, fresh) {
    this.rate(1);
    if (fresh) this.reseeks = 0; else this.reseeks += 1;
    this.since = performance.now();
    this.landing = true;
    this.audio.currentTime = (positionMs + this.lead) / 1000;
  }

  rate(value) {
    if (this.audio.playbackRate !== value) this.audio.playbackRate = value;
  }
}

const steerings = new WeakMap();

/** Steer `audio` towards `positionMs` (see Steering.steer). */
export function steer(audio, positionMs, playing) {
  let steering = steerings.get(audio);
  if (!steering) steerings.set(audio, steering = new Steering(audio));
  steering.steer(positionMs, playing);
}
