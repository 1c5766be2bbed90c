"""The library context: folders, tracks and announcements, their media jobs, uploads."""

from __future__ import annotations

from dataclasses import dataclass

from application.library import LibraryApplication
from application.loudness import LoudnessCache
from application.media_jobs import MediaProcessor
from application.policies import storage_limit
from application.services import CATALOG, LIBRARY, LOUDNESS, UPLOADS
from infra.audio_analysis import AvAnalyzer
from infra.catalog import LibraryCatalog
from infra.commands import resumable_uploads
from infra.contexts import Built, Context, Parts
from infra.contexts.accounts import AccountsParts
from infra.jobs import jobs_projection
from infra.kernel import Kernel
from infra.media import MutagenInspector, PillowImages
from infra.postgres.library_view import PostgresLibraryView
from infra.postgres.view import PositionView
from infra.projection_spec import ProjectionSpec
from infra.tts import build_synthesizer
from interfaces.http import announcements, folders, media, music, resumable
from projections.library import LibraryProjection


@dataclass(kw_only=True)
class LibraryParts(Parts):
    application: LibraryApplication
    view: PostgresLibraryView
    processor: MediaProcessor
    inspector: MutagenInspector
    catalog: LibraryCatalog
    loudness: LoudnessCache


def build(kernel: Kernel, built: Built) -> LibraryParts:
    app = LibraryApplication(kernel.es_env)
    inspector = MutagenInspector()
    processor = MediaProcessor(
        app, kernel.storage, inspector, PillowImages(),
        build_synthesizer(kernel.settings.google_application_credentials),
        storage_limit=storage_limit(built.of(AccountsParts).application),
        analyzer=AvAnalyzer())
    kernel.jobs.serve_media(processor)
    view = kernel.view(LibraryProjection.name, PostgresLibraryView)
    parts = LibraryParts(
        application=app, view=view, processor=processor, inspector=inspector,
        catalog=LibraryCatalog(app, view), loudness=LoudnessCache(view),
        specs=[ProjectionSpec(LibraryApplication, LibraryProjection, type(view)),
               ProjectionSpec(LibraryApplication, jobs_projection(kernel.jobs), PositionView)],
        views={LibraryProjection.name: view})
    built.ports.provide(LIBRARY, kernel.read_model(view, app))
    built.ports.provide(CATALOG, parts.catalog)
    built.ports.provide(LOUDNESS, parts.loudness)
    built.ports.provide(UPLOADS, resumable_uploads(kernel.settings))
    return parts


# The resumable uploads' routes come first: `/api/announcements/uploads/` would
# otherwise be taken for an announcement's id.
LIBRARY_CONTEXT = Context("library", build, routers=(
    resumable.music, resumable.announcements, folders.router, music.router,
    announcements.router, media.router))
