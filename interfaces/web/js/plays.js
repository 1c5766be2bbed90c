// Proof of play for a zone and period: a table, and the same report as CSV (whose
// columns include every one shown: started_at, kind, title, artist, played_seconds,
// end_reason).

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
  const more = page.count > rows.length
    ? h("p.muted", {}, `The first ${rows.length} of ${page.count} plays; the CSV has all.`)
    : null;
  replace(box, h("table.list", {},
    h("thead", {}, h("tr", {}, ["Started", "What", "Played", "End"].map((c) => h("th", {}, c)))),
    h("tbody", {}, rows.map(row))), more, csv);
}

/** Seconds heard (so far, while it plays), as m:ss. */
function played(r) {
  const seconds = r.played_seconds ?? (parseTime(r.ended_at ?? new Date().toISOString())
    - parseTime(r.started_at)) / 1000;
  return fmtDuration(seconds * 1000);
}

function row(r) {
  return h("tr", { dataset: { kind: r.kind, id: r.id } },
    h("td", {}, fmtDateTime(r.started_at)),
    h("td", { dataset: { testid: "play-title" } },
      r.kind === "announcement" ? "Announcement: " : "", r.title,
      r.artist ? h("span.muted", {}, ` · ${r.artist}`) : null),
    h("td.num", { dataset: { testid: "played", seconds: String(r.played_seconds ?? "") } },
      played(r)),
    h("td", {}, r.end_reason || "playing"));
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
