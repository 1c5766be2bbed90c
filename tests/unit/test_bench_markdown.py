"""README's benchmark table is printed from a run's JSON (bench/markdown.py)."""

from __future__ import annotations

from bench.markdown import table


def test_a_run_becomes_the_readme_table() -> None:
    run = {"rows": [
        {"measure": "POST /api/playback/next/ (16 clients)", "per_s": 405.33, "p50_ms": 38.08,
         "p99_ms": 76.71, "note": "7.9% of hello-world"},
        {"measure": "  baseline: hello-world FastAPI (16 clients)", "per_s": 5163.04,
         "p50_ms": 2.765, "p99_ms": 123.4, "note": "same | settings"},
        {"measure": "reconnect storm", "per_s": None, "p50_ms": float("nan"),
         "p99_ms": 21400.2, "note": ""},
    ], "errors": {"ingest": "RuntimeError: no ffmpeg"}}
    assert table(run).splitlines() == [
        "| measure | per s | p50 ms | p99 ms | compared with / notes |",
        "|---|--:|--:|--:|---|",
        "| POST /api/playback/next/ (16 clients) | 405 | 38.1 | 76.7 | 7.9% of hello-world |",
        "| baseline: hello-world FastAPI (16 clients) | 5,163 | 2.8 | 123 | same \\| settings |",
        "| reconnect storm |  |  | 21,400 |  |",
        "| ingest failed |  |  |  | RuntimeError: no ffmpeg |",
    ]
