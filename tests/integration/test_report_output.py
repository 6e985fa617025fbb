"""The report folder as a person sees it: real PNG charts, message.json, preview.html in Chromium."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from browser_page import page_state
from conftest import REPORT_DAY, run_report
from pngcheck import png_pixels, png_size

from flowdigest.report import CHART_HEIGHT, CHART_WIDTH
from flowdigest.slack import limits

pytestmark = pytest.mark.chromium


@pytest.fixture(scope="module")
def report_dir(sample_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return run_report(sample_root, REPORT_DAY, tmp_path_factory.mktemp("out"), charts=True)


@pytest.fixture(scope="module")
def report(report_dir: Path) -> dict[str, Any]:
    return json.loads((report_dir / "report.json").read_text())


@pytest.fixture(scope="module")
def message(report_dir: Path) -> dict[str, Any]:
    return json.loads((report_dir / "message.json").read_text())


def test_at_least_six_real_charts(report_dir: Path, report: dict) -> None:
    pngs = sorted(report_dir.glob("*.png"))
    assert len(pngs) >= 6
    assert sorted(c["file"] for c in report["charts"]) == sorted(p.name for p in pngs)
    for png in pngs:
        data = png.read_bytes()
        assert png_size(data) == (CHART_WIDTH, CHART_HEIGHT), png.name
        colours = png_pixels(data)
        # a blank or text-only image has a handful of colours; bars, text and antialiasing many
        assert len(colours) > 50, f"{png.name} looks blank ({len(colours)} colours)"
        assert (255, 255, 255) in colours  # the white background, not a black failed frame


def test_every_chart_has_title_and_alt_text_in_the_thread(report: dict, message: dict) -> None:
    files = [t for t in message["thread"] if t["kind"] == "file"]
    assert [f["file"] for f in files] == [c["file"] for c in report["charts"]]
    for f in files:
        assert f["title"].strip() and len(f["title"]) <= limits.FILE_TITLE
        assert len(f["alt_text"]) > 20 and len(f["alt_text"]) <= limits.FILE_ALT_TEXT
    assert message["thread"][-1]["kind"] == "message"  # the detail lines come after the charts


def test_summary_message_within_slack_limits(report: dict, message: dict) -> None:
    assert len(message["blocks"]) <= limits.MAX_BLOCKS
    assert len(message["text"]) <= limits.MESSAGE_TEXT
    assert limits.fit_blocks(message["blocks"]) == message["blocks"]  # nothing left to cut
    text = json.dumps(message["blocks"])
    assert REPORT_DAY.isoformat() in message["text"]
    assert "vs previous day" in text and "vs 7-day median" in text
    for reply in (t for t in message["thread"] if t["kind"] == "message"):
        assert len(reply["blocks"]) <= limits.MAX_BLOCKS
        assert sum(limits.block_text_length(b) for b in reply["blocks"]) <= limits.MESSAGE_BLOCK_CHARS


def test_preview_shows_the_message_and_every_chart(report_dir: Path, report: dict) -> None:
    state = page_state(report_dir / "preview.html")
    assert f"VPC flow logs — {REPORT_DAY}" in state["text"]
    for entry in report["insights"].values():
        assert entry["title"] in state["text"]
    shown = {i["src"]: i for i in state["images"]}
    assert set(shown) == {c["file"] for c in report["charts"]}
    for chart in report["charts"]:
        img = shown[chart["file"]]
        assert (img["width"], img["height"]) == (CHART_WIDTH, CHART_HEIGHT), "image did not load"
        assert img["alt"] == chart["alt_text"]
