// The offline player's media (docs/device-protocol.md, "Offline playback"): each
// item of the zone's horizon is kept in Cache Storage under its media_key (a signed
// URL changes, the key does not), within a storage budget. While the player plays
// offline, the cached files are played as blob: URLs (no Service Worker: the page is
// already loaded, and blob URLs play without the network).

const CACHE = "s2g-media";
const BUDGET_BYTES = 200 * 1024 * 1024;
const INDEX = "s2g.player.media-index";  // media_key -> {bytes, used}

const readIndex = () => {
  try { return JSON.parse(localStorage.getItem(INDEX)) ?? {}; } catch { return {}; }
};
const writeIndex = (index) => localStorage.setItem(INDEX, JSON.stringify(index));
const cacheKey = (mediaKey) => `${location.origin}/offline-media/${encodeURIComponent(mediaKey)}`;

export class MediaCache {
  constructor() {
    this.blobs = new Map();  // media_key -> blob: URL, while offline
  }

  /** Cache the horizon's media. One caching pass at a time: the next one finds what
   * this one stored. Never rejects. */
  store(horizon) {
    this.caching = (this.caching ?? Promise.resolve()).then(() => this.cacheMedia(horizon))
      .catch(() => {});
    return this.caching;
  }

  /** Cache each item's media under its media_key, earliest first, within the budget;
   * what left the horizon goes first, then what was used longest ago. */
  async cacheMedia(horizon) {
    const cache = await caches.open(CACHE);
    const index = readIndex();
    const wanted = [...horizon.tracks, ...horizon.announcements];
    const keep = new Set(wanted.map((i) => i.media_key));
    for (const item of wanted) {
      if (index[item.media_key] && await cache.match(cacheKey(item.media_key))) {
        index[item.media_key].used = Date.now();
        continue;
      }
      const res = await fetch(item.url);
      if (!res.ok) continue;
      const blob = await res.blob();
      if (!(await this.makeRoom(cache, index, keep, blob.size))) break;
      await cache.put(cacheKey(item.media_key), new Response(blob, {
        headers: { "Content-Type": item.content_type || blob.type } }));
      index[item.media_key] = { bytes: blob.size, used: Date.now() };
      writeIndex(index);
    }
    writeIndex(index);
  }

  async makeRoom(cache, index, keep, bytes) {
    const used = () => Object.values(index).reduce((sum, e) => sum + e.bytes, 0);
    const victims = Object.keys(index).filter((k) => !keep.has(k))
      .sort((a, b) => index[a].used - index[b].used);
    while (used() + bytes > BUDGET_BYTES && victims.length) {
      const key = victims.shift();
      await cache.delete(cacheKey(key));
      delete index[key];
    }
    return used() + bytes <= BUDGET_BYTES;
  }

  /** Open the cached media of the horizon's items as blob: URLs, to play offline. */
  async open(horizon) {
    const cache = await caches.open(CACHE);
    const items = [...horizon.tracks, ...horizon.announcements];
    for (const key of new Set(items.map((i) => i.media_key))) {
      const res = await cache.match(cacheKey(key));
      if (res && !this.blobs.has(key)) this.blobs.set(key, URL.createObjectURL(await res.blob()));
    }
  }

  /** Where to play `item` from: its cached file if opened, else its (signed) URL. */
  url(item) {
    return this.blobs.get(item.media_key) ?? item.url;
  }

  /** Release the blob: URLs (once nothing plays them any more). */
  close() {
    for (const url of this.blobs.values()) URL.revokeObjectURL(url);
    this.blobs.clear();
  }

  /** The media_keys cached (for tests and debugging). */
  keys() {
    return Object.keys(readIndex());
  }
}
