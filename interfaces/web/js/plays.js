// Proof of play for a zone and period: a table, and the same report as CSV.

import { api, optional } from "./api.js";
import { action, emptyState, fmtDateTime, fmtDuration, h, replace } from "./dom.js";
import { parseTime } from "./clock.js";

export async function plays(box, zoneId, query) {
  const path = `/api/reports/plays/?zone_id=${zoneId}&${query}&page_size=200`;
  const page = await optional(`${path}&format=json`);
  if (page === null) {
    replace(box, emptyState("Play reports are not available on this server yet."));
    return;
  }
  const rows = page.results || [];
  const csv = h("button", { type: "button", class: "ghost",
                            on: { click: action(() => download(`${path}&format=csv`)) } },
    "Download CSV");
  if (!rows.length) {
    replace(box, emptyState("Nothing played in this period."), csv);
    return;
  }
  const length = (r) => (r.ended_at ? fmtDuration(parseTime(r.ended_at) - parseTime(r.started_at))
    : "playing");
  replace(box, h("table.list", {},
    h("thead", {}, h("tr", {}, ["Started", "What", "Played", "End"].map((c) => h("th", {}, c)))),
    h("tbody", {}, rows.map((r) => h("tr", { dataset: { kind: r.kind } },
      h("td", {}, fmtDateTime(r.started_at)),
      h("td", {}, r.kind === "announcement" ? "Announcement: " : "", r.title,
        r.artist ? h("span.muted", {}, ` · ${r.artist}`) : null),
      h("td.num", {}, length(r)), h("td", {}, r.end_reason || ""))))), csv);
}

async function download(path) {
  const res = await api(path, { raw: true });
  const url = URL.createObjectURL(await res.blob());
  const link = h("a", { href: url, download: "plays.csv" });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
