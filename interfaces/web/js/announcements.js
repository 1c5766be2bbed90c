// Instant announcements: pick zones, then play a ready announcement now, or type text
// to have it spoken (TTS is generated in the background; we wait for it, then play).

import { allPages, api, upload } from "./api.js";
import { action, emptyState, fmtDuration, h, replace, toast } from "./dom.js";

const TTS_WAIT_MS = 60000;

export async function render(root) {
  const view = new Announcements(root);
  await view.load();
  return () => { view.disposed = true; };
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

class Announcements {
  constructor(root) {
    this.zones = h("div.checks", { dataset: { testid: "announce-zones" } });
    this.list = h("div", { dataset: { testid: "announcements" } });
    this.text = h("textarea", { rows: 3, maxlength: 5000, dataset: { testid: "tts-text" },
                                placeholder: "Type what should be said…" });
    this.status = h("p.muted", { dataset: { testid: "announce-status" } });
    root.append(
      h("div.view-head", {}, h("h2", {}, "Announcements")),
      h("div.card", {}, h("h3", {}, "Zones to interrupt"), this.zones),
      h("div.card", {}, h("h3", {}, "Say something now"), this.text,
        h("div.row", {}, h("button", { type: "button", dataset: { testid: "tts-play" },
                                       on: { click: action(() => this.speak()) } },
          "Speak now")), this.status),
      h("div.card", {}, h("h3", {}, "Upload an announcement"), this.uploadForm()),
      h("h3", {}, "Library"), this.list);
  }

  async load() {
    const zones = await allPages("/api/zones/?page_size=100");
    replace(this.zones, zones.length ? zones.map((z, i) => h("label.check", {},
      h("input", { type: "checkbox", name: "zone", value: z.id, checked: i === 0 }),
      ` ${z.name}`)) : emptyState("No zones yet."));
    await this.loadList();
  }

  async loadList(wait = null) {
    const items = await allPages("/api/announcements/?page_size=200", { wait });
    if (this.disposed) return;
    if (!items.length) {
      replace(this.list, emptyState("No announcements yet."));
      return;
    }
    const row = (a) => h("tr", { dataset: { announcementId: a.id } },
      h("td", {}, a.title), h("td.num", {}, a.duration ? fmtDuration(a.duration * 1000) : ""),
      h("td", {}, a.is_tts ? "speech" : a.is_recording ? "recording" : "upload"),
      h("td", {}, h(`span.status.${a.status}`, {}, a.status)),
      h("td", {}, h("button", { type: "button", disabled: a.status !== "ready",
                                dataset: { testid: "play-now" },
                                on: { click: action(() => this.playNow(a)) } }, "Play now")));
    replace(this.list, h("table.list", {}, h("tbody", {}, items.map(row))));
  }

  zoneIds() {
    return [...this.zones.querySelectorAll("input[name=zone]:checked")].map((i) => i.value);
  }

  async playNow(announcement) {
    const zoneIds = this.zoneIds();
    if (!zoneIds.length) throw new Error("Pick at least one zone");
    await api(`/api/announcements/${announcement.id}/play-instant/`, {
      method: "POST", body: { zone_ids: zoneIds } });
    this.status.textContent = `Playing “${announcement.title}” in ${zoneIds.length} zone(s).`;
    toast(this.status.textContent);
  }

  async speak() {
    const text = this.text.value.trim();
    if (!text) throw new Error("Type the text to say");
    if (!this.zoneIds().length) throw new Error("Pick at least one zone");
    this.status.textContent = "Generating speech…";
    let ann = await api("/api/announcements/tts/", { method: "POST", body: { text } });
    const deadline = Date.now() + TTS_WAIT_MS;
    while (ann.status === "processing" && Date.now() < deadline && !this.disposed) {
      await sleep(1000);
      ann = await api(`/api/announcements/${ann.id}/`);
    }
    if (ann.status !== "ready") {
      this.status.textContent = `Speech is ${ann.status}: ${ann.failure_reason || "try again"}`;
      return;
    }
    this.text.value = "";
    await this.playNow(ann);
    await this.loadList();
  }

  uploadForm() {
    const file = h("input", { type: "file", accept: "audio/*", required: true });
    const title = h("input", { placeholder: "Title", maxlength: 255 });
    const progress = h("progress", { max: 1, value: 0, hidden: true });
    return h("form.row", { on: { submit: action(async (event) => {
      event.preventDefault();
      if (!file.files.length) return;
      const form = new FormData();
      form.append("file", file.files[0], file.files[0].name);
      if (title.value) form.append("title", title.value);
      progress.hidden = false;
      const done = await upload("/api/announcements/upload/", form, (f) => { progress.value = f; });
      file.value = title.value = "";
      toast("Announcement uploaded");
      await this.loadList(done.position);
    }) } }, title, file, progress, h("button", { type: "submit" }, "Upload"));
  }
}
