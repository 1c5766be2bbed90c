"""Text-to-speech for announcements: Google Cloud when configured, else espeak-ng.

espeak-ng is robotic but offline and always available (tests, demos, air-gapped
sites); Google's voices are what a shop floor should hear.
"""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path
from typing import Any

from application.ports import SpeechSynthesizer
from domain.library import LibraryError

_TIMEOUT_SECONDS = 60
_UNKNOWN_VOICE = "voice does not exist"  # espeak-ng's stderr for a bad -v


class SpeechFailed(LibraryError):
    """The speech engine could not turn the text into audio."""


def _require_text(text: str) -> str:
    if not text.strip():
        raise SpeechFailed("there is no text to speak")
    return text


def espeak_voices(voice: str | None, language: str) -> list[str]:
    """Voices to try in order: the requested one, then the language ("en-US" is
    espeak's "en-us"), then its base language ("en")."""
    lang = language.strip().lower().replace("_", "-")
    candidates = [voice.strip() if voice else "", lang, lang.split("-")[0]]
    return list(dict.fromkeys(c for c in candidates if c))


class EspeakSynthesizer:
    """SpeechSynthesizer running the espeak-ng program; writes WAV files."""

    def __init__(self, binary: str = "espeak-ng") -> None:
        self.binary = binary

    def synthesize(self, text: str, *, voice: str | None, language: str, out_dir: Path) -> Path:
        _require_text(text)
        out = out_dir / f"speech-{uuid.uuid4().hex}.wav"
        error = "no voice to try"
        for candidate in espeak_voices(voice, language):
            error = self._run(text, candidate, out)
            if not error:
                return out
            if _UNKNOWN_VOICE not in error:
                break
        out.unlink(missing_ok=True)
        raise SpeechFailed(f"espeak-ng failed: {error}")

    def _run(self, text: str, voice: str, out: Path) -> str:
        """Speak into `out`; returns "" on success, else what went wrong."""
        # The text goes through stdin: never parsed as options, no length limit.
        command = [self.binary, "-b", "1", "-v", voice, "-w", str(out), "--stdin"]
        try:
            done = subprocess.run(
                command, input=text.encode(), capture_output=True, timeout=_TIMEOUT_SECONDS
            )
        except FileNotFoundError:
            return f"{self.binary} is not installed"
        except subprocess.TimeoutExpired:
            return f"gave up after {_TIMEOUT_SECONDS} s"
        stderr = done.stderr.decode(errors="replace").strip()
        if done.returncode != 0 or _UNKNOWN_VOICE in stderr:
            return stderr or f"exit status {done.returncode}"
        if not out.exists() or out.stat().st_size <= 44:  # 44 bytes: a WAV header alone
            return stderr or "it produced no audio"
        return ""


class GoogleSynthesizer:
    """SpeechSynthesizer on Google Cloud Text-to-Speech; writes MP3 files."""

    def __init__(self, credentials_file: str) -> None:
        self.credentials_file = credentials_file
        self._client: Any = None  # made on first use: it opens network channels

    def synthesize(self, text: str, *, voice: str | None, language: str, out_dir: Path) -> Path:
        from google.api_core.exceptions import GoogleAPIError, InvalidArgument
        from google.cloud import texttospeech

        _require_text(text)
        try:
            try:
                audio = self._speak(texttospeech, text, voice, language)
            except InvalidArgument:
                if not voice:
                    raise
                audio = self._speak(texttospeech, text, None, language)  # unknown voice name
        except GoogleAPIError as e:
            raise SpeechFailed(f"Google Text-to-Speech failed: {e}") from e
        out = out_dir / f"speech-{uuid.uuid4().hex}.mp3"
        out.write_bytes(audio)
        return out

    def _speak(self, tts: Any, text: str, voice: str | None, language: str) -> bytes:
        if self._client is None:
            self._client = tts.TextToSpeechClient.from_service_account_file(self.credentials_file)
        selection = {"language_code": language, **({"name": voice} if voice else {})}
        response = self._client.synthesize_speech(
            input=tts.SynthesisInput(text=text),
            voice=tts.VoiceSelectionParams(**selection),
            audio_config=tts.AudioConfig(audio_encoding=tts.AudioEncoding.MP3),
        )
        return bytes(response.audio_content)


def build_synthesizer(google_credentials: str | None) -> SpeechSynthesizer:
    """Google when a service-account file is configured, else espeak-ng."""
    if google_credentials:
        return GoogleSynthesizer(google_credentials)
    return EspeakSynthesizer()
