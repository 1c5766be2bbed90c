// A schedule's recent decisions per zone and slot: what came of each (played, queued,
// missed, skipped...) and why, from GET /api/schedules/{id}/decisions/.

import { optional } from "./api.js";
import { emptyState, fmtDateTime, h, replace } from "./dom.js";

const WEEK_MS = 7 * 24 * 3600 * 1000;

export async function showDecisions(box, schedule) {
  replace(box, h("p.muted", {}, "Loading decisions…"));
  const from = new Date(Date.now() - WEEK_MS).toISOString();
  const query = new URLSearchParams({ from, page_size: "200" });
  const page = await optional(`/api/schedules/${schedule.id}/decisions/?${query}`);
  const head = h("h3", {}, `Decisions of ${schedule.name} (last 7 days)`);
  if (page === null) {
    replace(box, head, emptyState("Decisions are not available on this server yet."));
    return;
  }
  const rows = (page.results || []).slice().reverse();  // newest first
  if (!rows.length) {
    replace(box, head, emptyState("No slot of this schedule was decided in this period."));
    return;
  }
  replace(box, head, h("table.list", { dataset: { testid: "decisions" } },
    h("thead", {}, h("tr", {}, ["Slot", "Zone", "Outcome", "Reason", "Decided"]
      .map((c) => h("th", {}, c)))),
    h("tbody", {}, rows.map((d) => h("tr", { dataset: { outcome: d.outcome } },
      h("td", {}, fmtDateTime(d.slot_at)), h("td", {}, d.zone_name || d.zone_id),
      h("td", {}, d.outcome.replace("_", " ")), h("td", {}, d.reason),
      h("td", {}, d.decided_at ? fmtDateTime(d.decided_at) : "derived"))))));
}
