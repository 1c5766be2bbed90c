"""Wires every context's command handlers into the one dispatcher."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from application.accounts import AccountsApplication
from application.commands import accounts as account_commands
from application.commands import admin as admin_commands
from application.commands import announcements as announcement_commands
from application.commands import devices as device_commands
from application.commands import library as library_commands
from application.commands import playback as playback_commands
from application.commands import resumable as resumable_commands
from application.commands import schedules as schedule_commands
from application.common import owner_lookup
from application.devices import DevicesApplication
from application.dispatch import Dispatcher, Limiter, Observer
from application.library import LibraryApplication
from application.media_jobs import MediaProcessor
from application.plans import Plans
from application.playback import PlaybackApplication
from application.ports import Catalog
from application.resumable import ResumableUploads
from application.scheduling import SchedulingApplication
from domain.base import NotFound
from infra.settings import Settings


def build_dispatcher(*, accounts: AccountsApplication, library: LibraryApplication,
                     playback: PlaybackApplication, devices: DevicesApplication,
                     scheduling: SchedulingApplication, catalog: Catalog,
                     heartbeat: device_commands.Heartbeat, media: MediaProcessor,
                     settings: Settings, plans: Plans,
                     limiter: Limiter | None = None,
                     observer: Observer | None = None) -> Dispatcher:
    dispatcher = Dispatcher({
        "zone": playback.known_zone_owner,
        "device": owner_lookup(devices.get_device),
        "folder": owner_lookup(library.get_folder),
        "track": owner_lookup(library.get_track),
        "announcement": owner_lookup(library.get_announcement),
        "schedule": owner_lookup(scheduling.get_schedule),
        "client": _client_lookup(accounts),
    }, limiter=limiter, observer=observer, standing=plans.check_may_command)
    dispatcher.register_all(account_commands.handlers(accounts, media,
                                                      settings.max_image_mb * 1024 * 1024))
    dispatcher.register_all(playback_commands.handlers(playback, catalog, plans.limit))
    dispatcher.register_all(device_commands.handlers(
        devices, lambda client_id: plans.limit(client_id, "max_devices"), heartbeat))
    dispatcher.register_all(schedule_commands.handlers(scheduling, plans.limit))
    dispatcher.register_all(admin_commands.handlers(accounts))
    limits = library_commands.UploadLimits(
        settings.max_upload_bytes, settings.max_files_per_upload,
        settings.max_image_mb * 1024 * 1024)
    dispatcher.register_all(library_commands.handlers(library, media, limits))
    dispatcher.register_all(announcement_commands.handlers(library, media, limits, catalog,
                                                           playback))
    dispatcher.register_all(resumable_commands.handlers(library, media, limits,
                                                        resumable_uploads(settings)))
    return dispatcher


def resumable_uploads(settings: Settings) -> ResumableUploads:
    """The unfinished resumable uploads (stateless: a folder and a time to live)."""
    return ResumableUploads(settings.resumable_root, settings.resumable_ttl_seconds)


def _client_lookup(accounts: AccountsApplication) -> Callable[[Any], Any]:
    def owner(client_id: Any) -> Any:
        try:
            return accounts.get_client(client_id).id
        except NotFound:
            return None
    return owner
