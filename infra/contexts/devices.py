"""The devices context: registering and pairing devices, their tokens and presence."""

from __future__ import annotations

from dataclasses import dataclass

from application.devices import DevicesApplication
from application.presence import PresenceSweeper
from application.services import DEVICES, PRESENCE
from domain.base import Actor, CommandContext
from infra.contexts import Built, Context, Job, Parts, Wired
from infra.contexts.playback import PlaybackParts
from infra.kernel import Kernel
from infra.postgres.devices_view import PostgresDevicesView
from infra.presence import Presence
from infra.projection_spec import ProjectionSpec
from interfaces.http import devices, offline
from projections.devices import DevicesProjection


@dataclass(kw_only=True)
class DevicesParts(Parts):
    application: DevicesApplication
    view: PostgresDevicesView
    presence: Presence


def build(kernel: Kernel, built: Built) -> DevicesParts:
    s = kernel.settings
    app = DevicesApplication(kernel.es_env,
                             zone_owner=built.of(PlaybackParts).application.zone_owner)
    view = kernel.view(DevicesProjection.name, PostgresDevicesView)
    presence = Presence(kernel.redis, s.redis_prefix, s.presence_ttl_seconds)
    built.ports.provide(DEVICES, kernel.read_model(view, app))
    built.ports.provide(PRESENCE, presence)
    return DevicesParts(
        application=app, view=view, presence=presence,
        specs=[ProjectionSpec(DevicesApplication, DevicesProjection, type(view))],
        views={DevicesProjection.name: view})


def jobs(parts: DevicesParts, wired: Wired) -> list[Job]:
    sweeper = PresenceSweeper(parts.application, parts.view, parts.presence)

    def sweep() -> None:
        sweeper.sweep(lambda: CommandContext(Actor.system("presence"), "presence-sweep"))

    return [Job("presence-sweeper", wired.built.kernel.settings.presence_sweep_seconds, sweep)]


DEVICES_CONTEXT = Context("devices", build, jobs, routers=(
    devices.router, offline.plays_router, devices.zones_pairing_router, offline.horizon_router))
