// Schedules: the list (with on/off toggles) and a week view of when each one runs.
// The schedules API may not exist on this server yet: then an empty state.

import { allPages, command } from "./api.js";
import { action, emptyState, h, replace } from "./dom.js";
import { showDecisions } from "./decisions.js";

const DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const DAY_MS = 24 * 3600 * 1000;

export async function render(root) {
  const zones = await allPages("/api/zones/?page_size=100");
  const body = h("div", { dataset: { testid: "schedules" } });
  const picker = h("select", { "aria-label": "Zone", on: { change: () => load() } },
    h("option", { value: "" }, "All zones"), zones.map((z) => h("option", { value: z.id }, z.name)));
  const names = new Map(zones.map((z) => [z.id, z.name]));
  async function load(wait = null) {
    const zone = picker.value ? `&zone_id=${picker.value}` : "";
    const items = await allPages(`/api/schedules/?page_size=200${zone}`,
                                 { optionalList: true, wait });
    if (items === null) {
      replace(body, emptyState("Schedules are not available on this server yet."));
    } else if (!items.length) {
      replace(body, emptyState("No schedules yet."));
    } else {
      const decisions = h("div.decisions", { dataset: { testid: "schedule-decisions" } });
      replace(body, scheduleTable(items, names, load, decisions), decisions, weekView(items));
    }
  }
  root.append(h("div.view-head", {}, h("h2", {}, "Schedules"), picker), body);
  await load();
}

function when(s) {
  const days = s.days_of_week?.length ? s.days_of_week.map((d) => DAYS[d]).join(", ") : "every day";
  const hours = s.start_time ? `${hm(s.start_time)}${s.end_time ? `–${hm(s.end_time)}` : ""}`
    : "all day";
  const every = s.mode === "interval"
    ? (s.interval_type === "tracks" ? ` · every ${s.interval_tracks} tracks`
      : ` · every ${s.interval_minutes} min`) : "";
  return `${days} · ${hours}${every}`;
}

const hm = (time) => (time || "").slice(0, 5);

function scheduleTable(items, names, reload, decisions) {
  const row = (s) => h("tr", { dataset: { scheduleId: s.id }, class: s.is_active ? "" : "inactive" },
    h("td", {}, s.name), h("td", {}, `${s.type} · ${s.mode}`), h("td", {}, when(s)),
    h("td", {}, (s.zone_ids || []).map((id) => names.get(id) || "?").join(", ")),
    h("td.num", {}, String(s.priority ?? "")),
    h("td", {}, h("button", { type: "button", class: "ghost",
                              on: { click: action(async () => {
                                const done = await command(`/api/schedules/${s.id}/toggle/`);
                                await reload(done.position);
                              }) } }, s.is_active ? "Turn off" : "Turn on"),
      h("button", { type: "button", class: "ghost",
                    on: { click: action(() => showDecisions(decisions, s)) } }, "Decisions")));
  return h("table.list", {},
    h("thead", {}, h("tr", {}, ["Name", "What", "When", "Zones", "Priority", ""]
      .map((c) => h("th", {}, c)))),
    h("tbody", {}, items.map(row)));
}

function msOf(time) {
  const [hh = 0, mm = 0, ss = 0] = (time || "").split(":").map(Number);
  return ((hh * 60 + mm) * 60 + ss) * 1000;
}

/** Blocks of [start, end) ms in the day; a time-only schedule gets a short block. */
function spans(s) {
  if (!s.start_time) return [[0, DAY_MS]];
  const start = msOf(s.start_time);
  if (!s.end_time) return [[start, Math.min(start + 30 * 60000, DAY_MS)]];
  const end = msOf(s.end_time);
  return end > start ? [[start, end]] : [[start, DAY_MS], [0, end]];  // past midnight
}

function weekView(items) {
  const columns = DAYS.map((day) => h("div.day", {}, h("div.day-name", {}, day),
    h("div.day-body", { dataset: { day } })));
  const lanes = Math.min(items.length, 4);  // side by side, so overlaps stay visible
  items.forEach((s, index) => {
    const days = s.days_of_week?.length ? s.days_of_week : [0, 1, 2, 3, 4, 5, 6];
    for (const d of days) {
      for (const [start, end] of spans(s)) {
        const block = h(`div.block.${s.type}`, {
          title: `${s.name}: ${when(s)}`, class: `block ${s.type}${s.is_active ? "" : " inactive"}`,
        }, s.name);
        Object.assign(block.style, {
          top: `${(100 * start) / DAY_MS}%`,
          height: `${Math.max((100 * (end - start)) / DAY_MS, 2)}%`,
          left: `${(100 * (index % lanes)) / lanes}%`,
          width: `${100 / lanes}%`,
        });
        columns[d]?.querySelector(".day-body").append(block);
      }
    }
  });
  const hours = h("div.hours", {}, [0, 6, 12, 18].map((hour) => {
    const label = h("span", {}, `${String(hour).padStart(2, "0")}:00`);
    label.style.top = `${(100 * hour) / 24}%`;
    return label;
  }));
  return h("div.week", { dataset: { testid: "week-view" } }, hours, columns);
}
