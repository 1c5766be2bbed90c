"""Shapes of library objects on the wire (field names follow the seed's models)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, Field

from application.ports import BlobStorage
from application.services import MediaUrls as Urls
from domain.base import NotFound


class FolderOut(BaseModel):
    id: UUID
    name: str
    description: str
    type: str
    client: UUID
    cover_image: str | None = Field(None, description="signed URL of the cover image")
    cover_thumbnail: str | None = None
    is_system: bool = Field(False, description="a system folder: its client's users cannot "
                            "delete it (only a sync2gear admin creates or deletes one)")
    created_by: UUID | None = Field(None, description="the user who created it")
    item_count: int
    created_at: datetime | None = None
    updated_at: datetime | None = None


class TrackOut(BaseModel):
    id: UUID
    title: str
    artist: str
    album: str
    genre: str
    year: int | None
    duration: float = Field(description="seconds")
    filename: str
    file_size: int
    format: str
    content_type: str
    file: str = Field(description="signed, expiring URL of the audio (supports Range)")
    cover_art: str | None = None
    cover_thumbnail: str | None = None
    folder: UUID | None
    order: int | None
    client: UUID
    status: str = Field(description="processing | ready | failed")
    failure_reason: str | None = None
    uploaded_by: str | None = None
    loudness_lufs: float | None = Field(None, description="integrated loudness (EBU R128); "
                                        "null until measured, or silent")
    true_peak_dbtp: float | None = Field(None, description="true peak (dBTP); null until measured")
    has_waveform: bool = Field(False, description="its waveform can be fetched")
    created_at: datetime | None = None
    updated_at: datetime | None = None


class AnnouncementOut(BaseModel):
    id: UUID
    title: str
    file: str | None = Field(None, description="signed URL; null while speech is generated")
    duration: float | None
    file_size: int | None
    format: str | None
    content_type: str | None
    is_tts: bool
    tts_text: str
    tts_voice: str
    tts_language: str
    is_recording: bool
    folder: UUID | None
    order: int | None = None
    client: UUID
    status: str
    failure_reason: str | None = None
    created_by: str | None = None
    loudness_lufs: float | None = Field(None, description="integrated loudness (EBU R128); "
                                        "null until measured, or silent")
    true_peak_dbtp: float | None = Field(None, description="true peak (dBTP); null until measured")
    has_waveform: bool = Field(False, description="its waveform can be fetched")
    created_at: datetime | None = None
    updated_at: datetime | None = None


class WaveformOut(BaseModel):
    peaks: list[tuple[float, float]] = Field(
        description="(min, max) sample values in [-1, 1] over equal spans of the file "
                    "(1,000 spans, fewer for a very short file)")
    duration: float = Field(description="seconds")


def waveform_out(storage: BlobStorage, row: dict[str, Any], what: str) -> WaveformOut:
    """The item's stored waveform; NotFound until it has been measured."""
    if not row.get("waveform_key"):
        raise NotFound(f"the {what}'s waveform is not ready yet")
    try:
        data = json.loads(storage.get_bytes(row["waveform_key"]))
    except FileNotFoundError:
        raise NotFound(f"the {what}'s waveform is not ready yet") from None
    return WaveformOut(peaks=data["peaks"], duration=data["duration"])


def folder_out(row: dict[str, Any], urls: Urls) -> FolderOut:
    return FolderOut(
        id=row["id"], name=row["name"], description=row["description"], type=row["type"],
        client=row["client_id"], cover_image=urls(row["cover_key"]),
        cover_thumbnail=urls(row["thumbnail_key"], "image/jpeg"),
        is_system=row["is_system"], created_by=row["created_by"],
        item_count=row["item_count"], created_at=row.get("created_at"),
        updated_at=row.get("updated_at"),
    )


def track_out(row: dict[str, Any], urls: Urls) -> TrackOut:
    return TrackOut(
        id=row["id"], title=row["title"], artist=row["artist"], album=row["album"],
        genre=row["genre"], year=row["year"], duration=row["duration"],
        filename=row["filename"], file_size=row["file_size"], format=row["format"],
        content_type=row["content_type"],
        file=urls(row["media_key"], row["content_type"]) or "",
        cover_art=urls(row["cover_key"]), cover_thumbnail=urls(row["thumbnail_key"],
                                                               "image/jpeg"),
        folder=row["folder_id"], order=row.get("position"), client=row["client_id"],
        status=row["status"], failure_reason=row["failure_reason"],
        uploaded_by=row.get("uploaded_by"), created_at=row.get("created_at"),
        updated_at=row.get("updated_at"), **_measured(row),
    )


def announcement_out(row: dict[str, Any], urls: Urls) -> AnnouncementOut:
    return AnnouncementOut(
        id=row["id"], title=row["title"], file=urls(row["media_key"], row["content_type"]),
        duration=row["duration"], file_size=row["file_size"], format=row["format"],
        content_type=row["content_type"], is_tts=row["source"] == "tts",
        tts_text=row["tts_text"], tts_voice=row["tts_voice"],
        tts_language=row["tts_language"], is_recording=row["source"] == "recording",
        folder=row["folder_id"], order=row.get("position"), client=row["client_id"],
        status=row["status"], failure_reason=row["failure_reason"],
        created_by=row.get("created_by"), created_at=row.get("created_at"),
        updated_at=row.get("updated_at"), **_measured(row),
    )


def _measured(row: dict[str, Any]) -> dict[str, Any]:
    return {"loudness_lufs": row.get("loudness_lufs"), "true_peak_dbtp": row.get("true_peak_dbtp"),
            "has_waveform": row.get("waveform_key") is not None}
