// Waveforms: the (min, max) peaks the server measured for a track or announcement,
// drawn on a canvas. Fetched once per item and page; null until measured (404).

import { optional } from "./api.js";

const peaks = new Map();

/** The peaks of a music track ("track") or an announcement, or null. */
export function waveformOf(kind, id) {
  if (!id) return Promise.resolve(null);
  const key = `${kind}:${id}`;
  if (!peaks.has(key)) {
    const path = kind === "track" ? `/api/music/files/${id}/waveform/`
      : `/api/announcements/${id}/waveform/`;
    const found = optional(path).then((w) => w?.peaks ?? null).catch(() => null);
    peaks.set(key, found);
    found.then((p) => { if (!p) peaks.delete(key); });  // not measured yet: ask again later
  }
  return peaks.get(key);
}

/** Draw `data` ([[min, max], ...], -1..1) across `canvas`; clear it for null. */
export function drawWaveform(canvas, data) {
  const ctx = canvas.getContext("2d");
  const { width, height } = canvas;
  ctx.clearRect(0, 0, width, height);
  canvas.dataset.points = String(data?.length ?? 0);
  if (!data?.length) return;
  ctx.fillStyle = getComputedStyle(canvas).color || "#888";
  const middle = height / 2;
  for (let x = 0; x < width; x += 1) {
    const [low, high] = data[Math.min(data.length - 1, Math.floor((x * data.length) / width))];
    const top = middle - high * middle;
    ctx.fillRect(x, top, 1, Math.max(1, (high - low) * middle));
  }
}

/** A canvas showing the waveform of `kind` `id` once it is known. */
export function waveformCanvas(kind, id, { width = 160, height = 28, testid = null } = {}) {
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  canvas.className = "waveform";
  if (testid) canvas.dataset.testid = testid;
  waveformOf(kind, id).then((data) => drawWaveform(canvas, data));
  return canvas;
}
