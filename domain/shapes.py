"""The stored shapes of the domain, and the check that keeps them readable.

What is stored is forever: every event ever saved must stay readable by every
later release. A stored shape is
- an **event**: its topic, its `class_version` and its fields (name and type),
- a **snapshot**: an aggregate's topic, `class_version` and the attributes of
  its state (what `Snapshot.take` stores: the instance's `__dict__`),
- a **value** stored inside events and snapshots (a queue item): its fields.

`domain/stored_shapes.json` is the committed catalogue of every shape every
release has stored: topic -> kind -> version -> fields. `problems()` compares
the code with it; the tests fail on any problem, so a stored shape never
changes by accident. To change one:

1. bump the class's `class_version` (events and aggregates) and add
   `upcast_v{N}_v{N+1}(state)` turning the old state into the new one (a value's
   `from_dict` reads every shape it ever had);
2. run `sync2gear shapes --update`: the catalogue gains the new version and
   keeps the old ones (which old stored data still has).

Snapshot attributes are read from the aggregate's source: every `self.x = ...`
in its class and its base classes (the library's aside), plus the two the
library keeps itself. An attribute set only through `setattr` with a computed
name is not seen: assign it in `__init__` (as every aggregate here does).
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import json
import pkgutil
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from eventsourcing.domain import Aggregate, CanMutateAggregate
from eventsourcing.utils import TopicError, get_topic, resolve_topic

import domain
from domain.base import EnumAttribute

Fields = dict[str, str]  # name -> type (as written), or "" for snapshot attributes
Shape = dict[str, Any]  # {"kind": "event" | "snapshot" | "value", "version": int,
#                          "fields": Fields, "class": the class}
Catalogue = dict[str, dict[str, Any]]  # topic -> {"kind": ..., "versions": {"1": Fields}}

CATALOGUE = Path(__file__).with_name("stored_shapes.json")
LIBRARY_STATE = ("_created_on", "_modified_on")  # what Aggregate keeps in __dict__ itself
UNSTORED = ("_id", "_version", "_pending_events")  # what Snapshot.take leaves out


def load_catalogue(path: Path = CATALOGUE) -> Catalogue:
    return json.loads(path.read_text()) if path.exists() else {}


def save_catalogue(catalogue: Catalogue, path: Path = CATALOGUE) -> None:
    path.write_text(json.dumps(catalogue, indent=1) + "\n")


def current_shapes() -> dict[str, Shape]:
    """Every stored shape the code of this release defines, by topic."""
    shapes: dict[str, Shape] = {}
    for aggregate in _aggregates():
        shapes[get_topic(aggregate)] = snapshot_shape(aggregate)
        for event_class in _events_of(aggregate):
            shapes[get_topic(event_class)] = event_shape(event_class)
    for value in stored_values():
        shapes[get_topic(value)] = value_shape(value)
    return dict(sorted(shapes.items()))


def stored_values() -> list[type[Any]]:
    """Values stored inside events and snapshots by their own transcoding."""
    from domain.playback import AnnouncementItem, QueueItem

    return [AnnouncementItem, QueueItem]


def event_shape(cls: type[Any]) -> Shape:
    return _dataclass_shape(cls, "event")


def value_shape(cls: type[Any]) -> Shape:
    return _dataclass_shape(cls, "value")


def _dataclass_shape(cls: type[Any], kind: str) -> Shape:
    fields = {f.name: _type_name(f.type) for f in dataclasses.fields(cls)}
    return {"kind": kind, "version": getattr(cls, "class_version", 1),
            "fields": dict(sorted(fields.items())), "class": cls}


def snapshot_shape(cls: type[Any]) -> Shape:
    names = set(LIBRARY_STATE)
    for klass in cls.__mro__:  # the aggregate's own classes, not the library's
        if klass.__module__.split(".")[0] not in ("eventsourcing", "builtins", "typing"):
            names |= _assigned_attributes(klass)
    names -= set(UNSTORED)
    return {"kind": "snapshot", "version": getattr(cls, "class_version", 1),
            "fields": dict.fromkeys(sorted(names), ""), "class": cls}


def problems(catalogue: Catalogue, shapes: dict[str, Shape]) -> list[str]:
    """What stops the code from reading every shape in `catalogue` (and what it
    stores but the catalogue does not record yet); empty when all is well."""
    found: list[str] = []
    for topic, shape in shapes.items():
        entry = catalogue.get(topic)
        version, fields = shape["version"], shape["fields"]
        if entry is None:
            found.append(f"{topic}: a new stored {shape['kind']}, not in the catalogue yet:"
                         " record it with `sync2gear shapes --update`")
            continue
        versions = {int(v): f for v, f in entry["versions"].items()}
        newest = max(versions)
        if version < newest:
            found.append(f"{topic}: class_version went down from {newest} to {version};"
                         f" stored data of version {newest} would be misread")
        elif version in versions and versions[version] != fields:
            found.append(f"{topic}: the stored shape of version {version} changed"
                         f" ({_diff(versions[version], fields)}) without a class_version"
                         f" bump: set class_version = {version + 1}, add upcast_v{version}"
                         f"_v{version + 1}, then `sync2gear shapes --update`")
        elif version not in versions:
            found.append(f"{topic}: version {version} is not in the catalogue yet"
                         f" ({_diff(versions[newest], fields)} since version {newest}):"
                         " record it with `sync2gear shapes --update`")
        if shape["kind"] != "value":
            found += _missing_upcasts(topic, shape["class"], min(versions), version)
    for topic, entry in catalogue.items():
        if topic in shapes:
            continue
        try:
            resolve_topic(topic)
        except (TopicError, ImportError, AttributeError):
            found.append(f"{topic}: stored {entry['kind']}s of this type can no longer be"
                         " read: keep the class, or register_topic() its old topic")
    return found


def updated(catalogue: Catalogue, shapes: dict[str, Shape]) -> Catalogue:
    """The catalogue with this release's shapes recorded (old versions kept; a
    version already recorded is never rewritten: that is what `problems` reports)."""
    result = {topic: {"kind": e["kind"], "versions": dict(e["versions"])}
              for topic, e in catalogue.items()}
    for topic, shape in shapes.items():
        entry = result.setdefault(topic, {"kind": shape["kind"], "versions": {}})
        entry["versions"].setdefault(str(shape["version"]), shape["fields"])
        entry["versions"] = dict(sorted(entry["versions"].items(), key=lambda kv: int(kv[0])))
    return dict(sorted(result.items()))


def _missing_upcasts(topic: str, cls: type[Any], oldest: int, version: int) -> list[str]:
    return [f"{topic}: no upcast_v{v}_v{v + 1} to read stored version {v}"
            for v in range(oldest, version) if not hasattr(cls, f"upcast_v{v}_v{v + 1}")]


def _diff(old: Fields, new: Fields) -> str:
    added = sorted(set(new) - set(old))
    removed = sorted(set(old) - set(new))
    changed = sorted(k for k in set(old) & set(new) if old[k] != new[k])
    parts = [*(f"added {k}" for k in added), *(f"removed {k}" for k in removed),
             *(f"{k}: {old[k]} -> {new[k]}" for k in changed)]
    return ", ".join(parts) or "no change"


def _type_name(annotation: Any) -> str:
    if isinstance(annotation, str):
        return annotation
    return getattr(annotation, "__name__", None) or repr(annotation)


def _modules() -> Iterator[Any]:
    for info in pkgutil.iter_modules(domain.__path__):
        yield importlib.import_module(f"domain.{info.name}")


def _aggregates() -> list[type[Aggregate]]:
    found: dict[str, type[Aggregate]] = {}
    for module in _modules():
        for value in vars(module).values():
            if (isinstance(value, type) and issubclass(value, Aggregate)
                    and value.__module__ == module.__name__ != "domain.base"
                    and _concrete(value)):
                found[get_topic(value)] = value
    return list(found.values())


def _concrete(cls: type[Aggregate]) -> bool:
    """An aggregate that is stored: one with a creation event of its own, and not an
    abstract base (`domain.roster.Roster`: only its subclasses are stored)."""
    return not inspect.isabstract(cls) and any(
        isinstance(v, type) and issubclass(v, Aggregate.Created)
        and v.__qualname__.startswith(cls.__qualname__ + ".")
        for v in vars(cls).values())


def _events_of(cls: type[Aggregate]) -> list[type[Any]]:
    return [v for v in vars(cls).values()
            if isinstance(v, type) and issubclass(v, CanMutateAggregate)
            and v.__qualname__.startswith(cls.__qualname__ + ".")
            and v.__qualname__ != f"{cls.__qualname__}.Event"]


def _assigned_attributes(cls: type[Any]) -> set[str]:
    """The instance attributes `cls`'s own code assigns (`self.x = ...`), stored as an
    EnumAttribute stores them."""
    try:
        source = textwrap.dedent(inspect.getsource(cls))
    except (OSError, TypeError):
        return set()
    enums = {name: value.private for name, value in vars(cls).items()
             if isinstance(value, EnumAttribute)}
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign | ast.AugAssign):
            targets = [node.target]
        for target in targets:
            for leaf in _leaves(target):
                if (isinstance(leaf, ast.Attribute) and isinstance(leaf.value, ast.Name)
                        and leaf.value.id == "self"):
                    names.add(enums.get(leaf.attr, leaf.attr))
    return names


def _leaves(target: ast.expr) -> Iterator[ast.expr]:
    if isinstance(target, ast.Tuple | ast.List):
        for element in target.elts:
            yield from _leaves(element)
    else:
        yield target
