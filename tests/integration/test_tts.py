"""Speech synthesis with the real espeak-ng program."""

from __future__ import annotations

from pathlib import Path

import pytest

from domain.library import ANNOUNCEMENT_FORMATS
from infra.media import MutagenInspector
from infra.tts import (
    EspeakSynthesizer,
    GoogleSynthesizer,
    SpeechFailed,
    build_synthesizer,
    espeak_voices,
)
from tests import audio_factory as make

needs_espeak = pytest.mark.skipif(not make.espeak_available(), reason="espeak-ng not installed")

ANNOUNCEMENT = "Attention shoppers, the store closes in ten minutes"


@needs_espeak
def test_espeak_speaks_an_announcement_into_a_wav(tmp_path: Path) -> None:
    path = EspeakSynthesizer().synthesize(
        ANNOUNCEMENT, voice=None, language="en-US", out_dir=tmp_path
    )

    probe = MutagenInspector().probe(path, ANNOUNCEMENT_FORMATS)
    assert path.parent == tmp_path
    assert (probe.format, probe.content_type) == ("wav", "audio/wav")
    assert probe.duration > 1


@needs_espeak
def test_an_unknown_voice_falls_back_to_the_language(tmp_path: Path) -> None:
    path = EspeakSynthesizer().synthesize(
        "Bonjour à tous", voice="no-such-voice", language="fr-FR", out_dir=tmp_path
    )

    assert MutagenInspector().probe(path, ANNOUNCEMENT_FORMATS).duration > 0.3


@needs_espeak
def test_text_that_looks_like_options_is_spoken_not_parsed(tmp_path: Path) -> None:
    path = EspeakSynthesizer().synthesize(
        "--help -v xx; rm -rf /", voice=None, language="en", out_dir=tmp_path
    )

    assert MutagenInspector().probe(path, ANNOUNCEMENT_FORMATS).duration > 0.5


@pytest.mark.parametrize("text", ["", "   \n"])
def test_empty_text_cannot_be_spoken(tmp_path: Path, text: str) -> None:
    with pytest.raises(SpeechFailed, match="no text"):
        EspeakSynthesizer().synthesize(text, voice=None, language="en", out_dir=tmp_path)


@needs_espeak
def test_an_unknown_language_fails_with_espeaks_reason(tmp_path: Path) -> None:
    with pytest.raises(SpeechFailed, match="voice does not exist"):
        EspeakSynthesizer().synthesize("Hello", voice=None, language="zz-ZZ", out_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_missing_espeak_binary_fails_cleanly(tmp_path: Path) -> None:
    synthesizer = EspeakSynthesizer(binary=str(tmp_path / "no-espeak"))

    with pytest.raises(SpeechFailed, match="not installed"):
        synthesizer.synthesize("Hello", voice=None, language="en", out_dir=tmp_path)


def test_voices_are_tried_from_the_requested_one_down_to_the_base_language() -> None:
    assert espeak_voices("en-gb-x-rp", "en-US") == ["en-gb-x-rp", "en-us", "en"]
    assert espeak_voices(None, "pt_BR") == ["pt-br", "pt"]
    assert espeak_voices("", "de") == ["de"]


def test_google_is_used_only_when_credentials_are_configured(tmp_path: Path) -> None:
    assert isinstance(build_synthesizer(str(tmp_path / "key.json")), GoogleSynthesizer)
    assert isinstance(build_synthesizer(None), EspeakSynthesizer)
    assert isinstance(build_synthesizer(""), EspeakSynthesizer)
