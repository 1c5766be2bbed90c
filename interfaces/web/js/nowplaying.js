// The now-playing panel: cover, title, artist, an announcement banner and a progress
// bar that moves with the server clock. Shared by the zone cards and the history view.

import { api } from "./api.js";
import { audible } from "./clock.js";
import { fmtDuration, h } from "./dom.js";
import { drawWaveform, waveformOf } from "./waveform.js";

const covers = new Map();

/** The cover thumbnail URL of a track (fetched once per track and page). */
function coverOf(item) {
  if (!item?.cover_key) return Promise.resolve(null);
  if (!covers.has(item.item_id)) {
    covers.set(item.item_id, api(`/api/music/files/${item.item_id}/`)
      .then((track) => track.cover_thumbnail || track.cover_art)
      .catch(() => null));
  }
  return covers.get(item.item_id);
}

export class NowPlaying {
  /** `onSeek(positionMs)` makes the bar clickable. */
  constructor({ onSeek = null } = {}) {
    this.onSeek = onSeek;
    this.cover = h("img.cover.placeholder", { alt: "", dataset: { testid: "now-cover" } });
    this.title = h("div.title", { dataset: { testid: "now-title" } });
    this.artist = h("div.artist.muted", { dataset: { testid: "now-artist" } });
    this.banner = h("div.banner", { hidden: true, dataset: { testid: "now-announcement" } });
    this.fill = h("div.fill");
    this.bar = h("div.bar", { role: "progressbar", "aria-valuemin": "0",
                              dataset: { testid: "now-progress" } }, this.fill);
    this.wave = h("canvas.waveform", { width: 600, height: 36,
                                       dataset: { testid: "now-waveform" } });
    this.waveFor = undefined;
    this.elapsed = h("span.muted", {}, "0:00");
    this.total = h("span.muted", {}, "0:00");
    if (onSeek) this.bar.addEventListener("click", (e) => this.seek(e));
    this.el = h("div.now-playing", {},
      this.cover,
      h("div.meta", {}, this.banner, this.title, this.artist,
        this.wave, this.bar, h("div.times", {}, this.elapsed, this.total)));
    this.state = null;
    this.coverFor = undefined;
  }

  show(state) {
    this.state = state;
    const track = state?.current;
    this.title.textContent = track ? track.title || "Untitled" : "Nothing queued";
    this.artist.textContent = track ? track.artist || "" : "Pick folders and press Play";
    const ann = state?.announcement;
    this.banner.hidden = !ann;
    this.banner.textContent = ann ? `Announcement: ${ann.title}` : "";
    this.el.classList.toggle("paused", Boolean(track) && !state.music_playing && !ann);
    this.showCover(track);
    this.showWaveform(ann ? ["announcement", ann.announcement_id] : ["track", track?.item_id]);
  }

  /** The audible item's waveform above the bar (drawn again only when it changes). */
  showWaveform([kind, id]) {
    const key = id ? `${kind}:${id}` : null;
    if (key === this.waveFor && Number(this.wave.dataset.points) > 0) return;
    this.waveFor = key;
    waveformOf(kind, id).then((data) => {
      if (this.waveFor !== key) return;
      drawWaveform(this.wave, data);
      if (!data && id) {  // not measured yet: the background job may be at it now
        setTimeout(() => {
          if (this.waveFor === key) this.showWaveform([kind, id]);
        }, 2000);
      }
    });
  }

  showCover(track) {
    const id = track?.item_id ?? null;
    if (id === this.coverFor) return;
    this.coverFor = id;
    this.cover.removeAttribute("src");
    this.cover.classList.add("placeholder");
    coverOf(track).then((url) => {
      if (url && this.coverFor === id) {
        this.cover.src = url;
        this.cover.classList.remove("placeholder");
      }
    });
  }

  /** Move the bar to where the audible item is at `now` (server ms). */
  tick(now) {
    const target = audible(this.state, now);
    const duration = target?.durationMs ?? 0;
    const position = target?.positionMs ?? 0;
    const percent = duration > 0 ? (100 * position) / duration : 0;
    this.fill.style.width = `${percent.toFixed(2)}%`;
    this.fill.classList.toggle("announcement", target?.kind === "announcement");
    this.bar.setAttribute("aria-valuemax", String(duration));
    this.bar.setAttribute("aria-valuenow", String(Math.round(position)));
    this.elapsed.textContent = fmtDuration(position);
    this.total.textContent = fmtDuration(duration);
  }

  seek(event) {
    const track = this.state?.current;
    if (!track || this.state.announcement) return;
    const box = this.bar.getBoundingClientRect();
    const fraction = Math.min(Math.max((event.clientX - box.left) / box.width, 0), 1);
    this.onSeek(Math.round(fraction * track.duration_ms));
  }
}
