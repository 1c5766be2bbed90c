"""The names of a read model's relations, by its schema version.

Version 1 is a view's original shape: its tables, indexes and tracking table keep
the names they always had. A release that changes a view bumps its
`schema_version` (infra/postgres/view.py); version N > 1 suffixes every relation of
the view with `_vN`, so the new version is built beside the old one, which keeps
answering the old release until the new one has caught up
(infra/view_versions.py).
"""

from __future__ import annotations


def versioned(name: str, version: int) -> str:
    """`name` as version `version` of a view calls it (`playback_zones_v2`)."""
    return name if version == 1 else f"{name}_v{version}"


def view_version(view_class: type) -> int:
    """The schema version of a view class (1 for a view without tables of its own)."""
    version = getattr(view_class, "schema_version", 1)
    assert isinstance(version, int) and version >= 1, f"{view_class}: bad schema_version"
    return version


def tracking_table_name(projection_name: str, view_class: type) -> str:
    """The table holding a view's position: `<projection>_tracking` (eventsourcing's
    own name for it, version 1), `<projection>_tracking_vN` for version N."""
    return versioned(f"{projection_name.lower()}_tracking", view_version(view_class))


def view_key(projection_name: str, view_class: type) -> str:
    """What a view's runner, its leader lock and its lag are named by: the projection's
    name, suffixed from version 2 on (the old and the new version are different views,
    led and reported one by one)."""
    return versioned(projection_name, view_version(view_class))
