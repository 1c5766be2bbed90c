// Reports: proof of play summed per zone, track, announcement or client over a range,
// with totals, and the same report as CSV or as a printable page.

import { api, optional } from "./api.js";
import { action, emptyState, fmtDuration, h, replace, toLocalInput } from "./dom.js";

const GROUPS = ["zone", "track", "announcement", "client"];
const DAY_MS = 24 * 3600 * 1000;

export async function render(root) {
  const now = new Date();
  const from = h("input", { type: "datetime-local", "aria-label": "From",
                            value: toLocalInput(new Date(now.getTime() - 7 * DAY_MS)) });
  const to = h("input", { type: "datetime-local", "aria-label": "To", value: toLocalInput(now) });
  const group = h("select", { "aria-label": "Group by" },
    GROUPS.map((g) => h("option", { value: g }, `per ${g}`)));
  const body = h("div", { dataset: { testid: "reports" } });
  const query = () => new URLSearchParams({
    group: group.value, from: new Date(from.value).toISOString(),
    to: new Date(to.value).toISOString() }).toString();
  const load = () => summary(body, query());
  for (const input of [from, to, group]) input.addEventListener("change", load);
  root.append(h("div.view-head", {}, h("h2", {}, "Reports"), group, from, to,
    h("button", { type: "button", class: "ghost",
                  on: { click: action(() => download(`/api/reports/summary/?${query()}&format=csv`)) } },
      "Download CSV"),
    h("button", { type: "button", class: "ghost",
                  on: { click: action(() => printable(`/api/reports/summary/?${query()}&format=html`)) } },
      "Printable page")), body);
  await load();
}

async function summary(box, query) {
  const page = await optional(`/api/reports/summary/?${query}&page_size=200`);
  if (page === null) {
    replace(box, emptyState("Reports are not available on this server yet."));
    return;
  }
  if (!page.results.length) {
    replace(box, emptyState("Nothing played in this period."));
    return;
  }
  const more = page.count > page.results.length
    ? h("p.muted", {}, `The first ${page.results.length} of ${page.count} rows; the CSV has all.`)
    : null;
  replace(box, h("table.list", {},
    h("thead", {}, h("tr", {}, ["Name", "Plays", "Heard"].map((c) => h("th", {}, c)))),
    h("tbody", {}, page.results.map((r) => h("tr", { dataset: { key: r.key } },
      h("td", {}, r.name || r.key, r.artist ? h("span.muted", {}, ` · ${r.artist}`) : null),
      h("td.num", {}, String(r.plays)), h("td.num", {}, fmtDuration(r.seconds * 1000))))),
    h("tfoot", {}, h("tr", { dataset: { testid: "totals" } }, h("td", {}, "Total"),
      h("td.num", {}, String(page.totals.plays)),
      h("td.num", {}, fmtDuration(page.totals.seconds * 1000))))), more);
}

async function blobOf(path) {
  const res = await api(path, { raw: true });
  return URL.createObjectURL(await res.blob());
}

async function download(path) {
  const url = await blobOf(path);
  const link = h("a", { href: url, download: "summary.csv" });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** The page needs the access token, so it is fetched here and opened as a blob. */
async function printable(path) {
  const url = await blobOf(path);
  window.open(url, "_blank", "noopener");
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}
