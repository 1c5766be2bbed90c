// The library view: folders, uploads with a progress bar, the track list and search.
// Uploads are resumable (tus, with the vendored tus-js-client): a broken connection
// is retried and goes on from the bytes the server holds, even after a reload.
// If that library cannot be loaded, files go up in one plain POST as before.

import { allPages, api, command, refreshTokens, session, upload } from "./api.js";
import { action, debounce, emptyState, fmtDuration, h, replace, toast } from "./dom.js";
import { waveformCanvas } from "./waveform.js";

const POLL_MS = 2000;
const TUS_SRC = "/static/js/vendor/tus.min.js";
const TUS_CHUNK = 8 * 1024 * 1024;
let tusLoading = null;

/** The vendored tus-js-client (a classic script: it sets window.tus); null if it fails. */
export function loadTus() {
  tusLoading ??= new Promise((resolve) => {
    if (window.tus?.isSupported) { resolve(window.tus); return; }
    const script = document.createElement("script");
    script.src = TUS_SRC;
    script.onload = () => resolve(window.tus?.isSupported ? window.tus : null);
    script.onerror = () => resolve(null);
    document.head.append(script);
  });
  return tusLoading;
}

/** Retry what a retry can mend (network, 5xx, a PATCH still holding the upload);
 *  not a refusal of the finished file (a duplicate's 409 lists its `errors`). */
function worthRetrying(err) {
  const res = err.originalResponse;
  const status = res ? res.getStatus() : 0;
  if (status === 401) refreshTokens();
  if (!status || status >= 500 || status === 401 || status === 423) return true;
  return status === 409 && !(res.getBody() || "").includes('"errors"');
}

function problemOf(err) {
  try { return JSON.parse(err.originalResponse.getBody()).detail; } catch { return err.message; }
}

/** One file through tus; resolves with the event position, rejects with a message. */
function sendResumable(tus, file, folder, onProgress) {
  return new Promise((resolve, reject) => {
    const metadata = { filename: file.name };
    if (folder) metadata.folder = folder;
    const up = new tus.Upload(file, {
      endpoint: "/api/music/uploads/", metadata, chunkSize: TUS_CHUNK,
      retryDelays: [0, 1000, 3000, 5000, 10000, 20000], removeFingerprintOnSuccess: true,
      onBeforeRequest: (req) => {
        const token = session.get()?.access;
        if (token) req.setHeader("Authorization", `Bearer ${token}`);
      },
      onShouldRetry: worthRetrying,
      onProgress: (sent, total) => onProgress(total ? sent / total : 0),
      onSuccess: ({ lastResponse }) => resolve(lastResponse?.getHeader("X-Event-Position")),
      onError: (err) => reject(new Error(problemOf(err))),
    });
    up.findPreviousUploads().then((previous) => {
      if (previous.length) up.resumeFromPreviousUpload(previous[0]);  // after a reload
      up.start();
    }, () => up.start());
  });
}

export async function render(root) {
  const view = new Library(root);
  await view.loadFolders();
  await view.loadTracks();
  return () => view.dispose();
}

class Library {
  constructor(root) {
    this.folder = null;  // null: all tracks
    this.query = "";
    this.folderList = h("ul.folders", { dataset: { testid: "folders" } });
    this.tracks = h("div", { dataset: { testid: "tracks" } });
    this.progress = h("progress", { max: 1, value: 0, hidden: true,
                                    dataset: { testid: "upload-progress" } });
    this.uploadNote = h("span.muted", { dataset: { testid: "upload-status" } });
    this.files = h("input", { type: "file", multiple: true, accept: "audio/*",
                              dataset: { testid: "upload-input" },
                              on: { change: action(() => this.upload()) } });
    this.target = h("strong", {}, "no folder");
    const search = h("input", { type: "search", placeholder: "Search title, artist, album",
                                dataset: { testid: "search" },
                                on: { input: debounce((e) => this.search(e.target.value), 250) } });
    root.append(
      h("div.view-head", {}, h("h2", {}, "Library")),
      h("div.split", {},
        h("aside", {}, h("h3", {}, "Folders"), this.folderList, this.folderForm()),
        h("div", {},
          h("div.card.upload", {},
            h("label", {}, "Upload music into ", this.target, " ", this.files),
            h("div.row", {}, this.progress, this.uploadNote)),
          h("div.row", {}, search),
          this.tracks)));
  }

  dispose() { clearTimeout(this.poll); this.disposed = true; }

  folderForm() {
    const name = h("input", { name: "name", required: true, placeholder: "New folder",
                              maxlength: 255 });
    return h("form.row", { on: { submit: action(async (event) => {
      event.preventDefault();
      const { body: folder, position } = await command("/api/music/folders/",
                                                       { name: name.value, type: "music" });
      name.value = "";
      this.folder = folder.id;
      await this.loadFolders(position);
      await this.loadTracks(position);
    }) } }, name, h("button", { type: "submit" }, "Add"));
  }

  async loadFolders(wait = null) {
    const folders = await allPages("/api/music/folders/?type=music&page_size=200", { wait });
    const item = (id, label) => h("li", {}, h("a", {
      href: "#library", class: id === this.folder ? "active" : "",
      dataset: { folderId: id ?? "" },
      on: { click: (e) => { e.preventDefault(); this.pick(id); } } }, label));
    const current = folders.find((f) => f.id === this.folder);
    this.target.textContent = current ? current.name : "no folder";
    replace(this.folderList, item(null, "All tracks"),
      folders.map((f) => item(f.id, `${f.name} (${f.item_count})`)));
  }

  async pick(folderId) {
    this.folder = folderId;
    this.query = "";
    await this.loadFolders();
    await this.loadTracks();
  }

  search(query) {
    this.query = query.trim();
    this.loadTracks().catch((e) => toast(e.message, "error"));
  }

  async loadTracks(wait = null) {
    clearTimeout(this.poll);
    let path = "/api/music/files/?page_size=200";
    if (this.query) path = `/api/music/search/?page_size=200&q=${encodeURIComponent(this.query)}`;
    else if (this.folder) path += `&folder=${this.folder}`;
    const page = await api(path, { wait });
    if (this.disposed) return;
    this.showTracks(page.results, page.count);
    if (page.results.some((t) => t.status === "processing")) {
      this.poll = setTimeout(() => this.loadTracks().catch(() => {}), POLL_MS);
    }
  }

  showTracks(tracks, count) {
    if (!tracks.length) {
      replace(this.tracks, emptyState(this.query ? "No track matches." : "No tracks here yet."));
      return;
    }
    const row = (t) => h("tr", { dataset: { trackId: t.id, status: t.status } },
      h("td", {}, t.title), h("td", {}, t.artist), h("td", {}, t.album),
      h("td.num", {}, fmtDuration(t.duration * 1000)),
      h("td", {}, t.has_waveform ? waveformCanvas("track", t.id, { testid: "track-waveform" })
        : null),
      h("td", {}, h(`span.status.${t.status}`, { title: t.failure_reason || "" }, t.status)));
    replace(this.tracks, h("table.list", {},
      h("thead", {}, h("tr", {}, ["Title", "Artist", "Album", "Length", "Waveform", "Status"]
        .map((c) => h("th", {}, c)))),
      h("tbody", {}, tracks.map(row))),
    count > tracks.length ? h("p.muted", {}, `${tracks.length} of ${count} shown`) : null);
  }

  async upload() {
    const files = [...this.files.files];
    if (!files.length) return;
    const tus = await loadTus();
    if (tus) return this.uploadResumable(tus, files);
    const form = new FormData();
    for (const file of files) form.append("files", file, file.name);
    if (this.folder) form.append("folder_id", this.folder);
    this.progress.hidden = false;
    this.progress.value = 0;
    this.uploadNote.textContent = `Uploading ${files.length} file(s)…`;
    let position;
    try {
      const done = await upload("/api/music/upload/", form, (f) => { this.progress.value = f; });
      const result = done.body;
      position = done.position;
      const skipped = result.duplicates.length + result.rejected.length;
      this.uploadNote.textContent = `Uploaded ${result.created.length}` +
        (skipped ? `, skipped ${skipped}` : "") + ".";
      for (const r of [...result.duplicates, ...result.rejected]) toast(r.detail, "error");
    } catch (e) {
      this.uploadNote.textContent = `Upload failed: ${e.message}`;
      throw e;
    } finally {
      this.files.value = "";
    }
    await this.loadFolders(position);
    await this.loadTracks(position);
  }

  async uploadResumable(tus, files) {
    this.progress.hidden = false;
    this.progress.value = 0;
    const total = files.reduce((sum, f) => sum + f.size, 0) || 1;
    let before = 0;
    let created = 0;
    let position;
    try {
      for (const file of files) {
        this.uploadNote.textContent = `Uploading ${file.name} (${created + 1} of ${files.length})…`;
        try {
          position = (await sendResumable(tus, file, this.folder, (f) => {
            this.progress.value = (before + f * file.size) / total;
          })) ?? position;
          created += 1;
        } catch (e) {
          toast(`${file.name}: ${e.message}`, "error");
        }
        before += file.size;
      }
      this.progress.value = 1;
      const skipped = files.length - created;
      this.uploadNote.textContent = `Uploaded ${created}` +
        (skipped ? `, skipped ${skipped}` : "") + ".";
    } finally {
      this.files.value = "";
    }
    await this.loadFolders(position);
    await this.loadTracks(position);
  }
}
