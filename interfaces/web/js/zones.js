// The zones view: every zone live, and a form for a new zone.

import { allPages, command } from "./api.js";
import { action, emptyState, h } from "./dom.js";
import { ZoneCard } from "./zonecard.js";

let created = null;  // event position of a zone just added, to list it at once

export async function render(root) {
  const wait = created;
  created = null;
  const [zones, folders] = await Promise.all([
    allPages("/api/zones/?page_size=100", { wait }),
    allPages("/api/music/folders/?type=music&page_size=200"),
  ]);
  const cards = zones.map((zone) => new ZoneCard(zone, folders));
  const name = h("input", { name: "name", required: true, placeholder: "New zone name",
                            maxlength: 255 });
  const form = h("form.row", {
    on: { submit: action(async (event) => {
      event.preventDefault();
      created = (await command("/api/zones/", { name: name.value })).position;
      window.dispatchEvent(new HashChangeEvent("hashchange"));
    }) } }, name, h("button", { type: "submit" }, "Add zone"));
  root.append(
    h("div.view-head", {}, h("h2", {}, "Zones"), form),
    cards.length ? h("div.grid", {}, cards.map((c) => c.el))
      : emptyState("No zones yet: add one to start playing music."));
  return () => cards.forEach((c) => c.dispose());
}
