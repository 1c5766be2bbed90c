"""The catalogue of stored shapes: a shape never changes without a version and an upcast."""

from __future__ import annotations

import uuid
from typing import Any

from domain.base import Actor, CommandContext, acting
from domain.shapes import (
    current_shapes,
    event_shape,
    load_catalogue,
    problems,
    snapshot_shape,
    updated,
)
from domain.zone import Zone

CREATED = "domain.zone:Zone.Created"
ZONE = "domain.zone:Zone"


def test_the_code_stores_exactly_the_catalogued_shapes() -> None:
    found = problems(load_catalogue(), current_shapes())
    assert found == [], "\n".join(found)


def test_an_event_changed_without_a_version_bump_fails_the_check() -> None:
    class Created(Zone.Created):  # what an incompatible edit of Zone.Created would be
        crossfade_s: int

    shapes = {**current_shapes(), CREATED: event_shape(Created)}
    [problem] = problems(load_catalogue(), shapes)
    assert problem.startswith(f"{CREATED}: the stored shape of version 1 changed (added "
                              "crossfade_s) without a class_version bump")


def test_a_version_bump_needs_an_upcast_and_a_record() -> None:
    class Created(Zone.Created):
        class_version = 2
        crossfade_s: int

    catalogue, shapes = load_catalogue(), {**current_shapes(), CREATED: event_shape(Created)}
    assert sorted(problems(catalogue, shapes)) == [
        f"{CREATED}: no upcast_v1_v2 to read stored version 1",
        f"{CREATED}: version 2 is not in the catalogue yet (added crossfade_s since version"
        " 1): record it with `sync2gear shapes --update`",
    ]

    class Upcast(Created):
        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["crossfade_s"] = 0

    shapes[CREATED] = event_shape(Upcast)
    recorded = updated(catalogue, shapes)
    assert problems(recorded, shapes) == []
    # old stored data keeps its shape on record
    assert recorded[CREATED]["versions"]["1"] == catalogue[CREATED]["versions"]["1"]
    assert "crossfade_s" in recorded[CREATED]["versions"]["2"]


def test_an_attribute_assigned_anywhere_in_an_aggregate_changes_its_snapshot_shape() -> None:
    class Extended(Zone):
        def set_balance(self) -> None:
            self.balance, self.volume = 0, 1

    shapes = {**current_shapes(), ZONE: snapshot_shape(Extended)}
    [problem] = problems(load_catalogue(), shapes)
    version = Zone.class_version
    assert problem.startswith(f"{ZONE}: the stored shape of version {version} changed (added"
                              " balance) without a class_version bump")


def test_a_catalogued_type_the_code_no_longer_has_is_reported() -> None:
    catalogue = load_catalogue()
    catalogue["domain.zone:Zone.Vanished"] = {"kind": "event", "versions": {"1": {}}}
    [problem] = problems(catalogue, current_shapes())
    assert problem.startswith("domain.zone:Zone.Vanished: stored events of this type can no"
                              " longer be read")


def test_a_zones_snapshot_holds_exactly_its_catalogued_attributes() -> None:
    with acting(CommandContext(Actor.system("test"), "shapes")):
        zone = Zone.create(client_id=uuid.uuid4(), name="Bar")
        zone.set_volume(40)
    state = Zone.Snapshot.take(zone).state
    state.pop("class_version", None)  # the library's own record of the version
    assert set(state) == set(load_catalogue()[ZONE]["versions"][str(Zone.class_version)])


def test_the_shapes_command_checks_the_committed_catalogue() -> None:
    from typer.testing import CliRunner

    from interfaces.cli import app

    result = CliRunner().invoke(app, ["shapes"])
    assert result.exit_code == 0, result.output
    assert f"{len(current_shapes())} stored shapes, all readable and on record" in result.output
