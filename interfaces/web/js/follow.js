// Keeping one <audio> element on its target: where the zone says the item is on the
// server clock (steered there, drift.js), playing or paused as the zone is. The
// browser may refuse to start audio without a user gesture; the caller is told.

import { steer } from "./drift.js";

export const DRIFT_MS = 1000;  // an item this near its end may be reported ended

/** Steer `audio` to the target's position on the server clock (drift.js), unless
 * it ended with the target near its end too. */
export function steerTo(audio, target) {
  const atEnd = audio.ended && target.positionMs >= target.durationMs - DRIFT_MS;
  if (!atEnd) steer(audio, target.positionMs, target.playing);
}

/** Keep `audio` at the target's position, playing or paused. `autoplay(allowed)`
 * hears whether a play() it started was allowed (false: it needs a user gesture). */
export function follow(audio, target, autoplay) {
  steerTo(audio, target);
  if (!target.playing) {
    audio.pause();
  } else if (audio.paused && !audio.ended) {
    audio.play().then(() => autoplay(true), (e) => {
      if (e.name === "NotAllowedError") autoplay(false);
    });
  }
}
