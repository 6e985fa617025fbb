"""Escaping and Slack's size limits (pure Python: importable without slack-sdk)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from flowdigest.slack import limits
from flowdigest.slack.limits import (
    block_text_length,
    escape,
    fit_blocks,
    fit_message,
    paginate_blocks,
    split_text,
    truncate,
)


def section(text: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def test_escape_replaces_exactly_the_three_control_characters():
    assert escape("a & b <c> 'd' \"e\" *f*") == "a &amp; b &lt;c&gt; 'd' \"e\" *f*"
    assert escape("<!channel>") == "&lt;!channel&gt;"  # data cannot ping the channel
    assert escape(42) == "42"


def test_truncate_keeps_short_text_and_marks_cut_text():
    assert truncate("short", 10) == "short"
    cut = truncate("x" * 50, 10)
    assert len(cut) <= 10 and cut.endswith("…")


@pytest.mark.parametrize("limit", range(5, 30))
def test_truncate_never_splits_an_entity_or_a_link(limit):
    text = escape("a&b<c>d ") + "<https://example.com/x|link> tail &amp; more"
    cut = truncate(text, limit)
    assert len(cut) <= limit
    body = cut.removesuffix("…")
    assert body.count("<") == body.count(">")  # no half link
    for i, ch in enumerate(body):
        if ch == "&":
            assert body[i:].startswith(("&amp;", "&lt;", "&gt;"))  # no half entity


def test_split_text_cuts_at_line_breaks_within_the_limit():
    lines = [f"line {i} " + "y" * 30 for i in range(100)]
    pieces = split_text("\n".join(lines), 500)
    assert all(len(p) <= 500 for p in pieces)
    assert "\n".join(pieces).split("\n") == lines
    assert split_text("z" * 1200, 500) == ["z" * 500, "z" * 500, "z" * 200]


def test_fit_blocks_applies_the_per_block_limits():
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "H" * 400}},
        section("\n".join(["w" * 100] * 70)),  # 7,069 characters
        {"type": "section", "fields": [{"type": "mrkdwn", "text": "f" * 2500}] * 12},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "c"}] * 14},
        {"type": "image", "image_url": "https://x/y.png", "alt_text": "a" * 2500},
        {"type": "divider"},
    ]
    fitted = fit_blocks(blocks)
    assert len(fitted[0]["text"]["text"]) <= limits.HEADER_TEXT
    sections = [b for b in fitted if b["type"] == "section" and "text" in b]
    assert len(sections) == 3 and all(len(b["text"]["text"]) <= limits.SECTION_TEXT for b in sections)
    fields = next(b for b in fitted if "fields" in b)["fields"]
    assert len(fields) == 10 and all(len(f["text"]) <= limits.SECTION_FIELD_TEXT for f in fields)
    assert len(next(b for b in fitted if b["type"] == "context")["elements"]) == 10
    assert len(next(b for b in fitted if b["type"] == "image")["alt_text"]) <= limits.IMAGE_ALT_TEXT
    assert blocks[0]["text"]["text"] == "H" * 400  # the input is not modified


def test_paginate_blocks_respects_block_count_and_text_budget():
    blocks = [section(f"{i} " + "t" * 300) for i in range(130)]
    pages = paginate_blocks(blocks)
    assert [b for page in pages for b in page] == blocks
    assert all(len(p) <= limits.MAX_BLOCKS for p in pages)
    assert all(sum(block_text_length(b) for b in p) <= limits.MESSAGE_BLOCK_CHARS for p in pages)
    assert len(paginate_blocks([section("s")] * 120)) == 3


def test_fit_message_without_blocks_splits_the_text():
    parts = fit_message("\n".join(["q" * 99] * 100), [])
    assert len(parts) == 3 and all(len(t) <= limits.MESSAGE_TEXT and b == [] for t, b in parts)


def test_fit_message_with_blocks_keeps_the_fallback_text_short():
    [(text, blocks)] = fit_message("T" * 9000, [section("ok")])
    assert len(text) <= limits.MESSAGE_TEXT and blocks == [section("ok")]
    pages = fit_message("Summary line\nmore", [section("x" * 2000)] * 20)
    assert len(pages) > 1 and pages[1][0].startswith("Summary line (continued, 2/")


def test_the_limits_and_escape_import_without_slack_sdk_or_boto3():
    code = textwrap.dedent(
        """
        import sys
        for name in ("slack_sdk", "boto3", "botocore", "aws_lambda_powertools"):
            sys.modules[name] = None  # any import of them now fails
        from flowdigest.slack import escape, fit_message, SlackSettings, FileLedger
        from flowdigest.slack.limits import truncate
        assert escape("<&>") == "&lt;&amp;&gt;"
        print("ok")
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
