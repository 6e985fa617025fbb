"""Slack's size limits, mrkdwn escaping, and helpers that make a message fit.

Pure Python on purpose: the message builder imports `escape` and these helpers without
slack-sdk installed, so nothing here may import it.

Limits are Slack's documented ones, except `MESSAGE_BLOCK_CHARS`: chat.postMessage
rejects messages with `msg_blocks_too_long` at roughly 13,000 characters of block text
in total, well under the documented 40,000 for `text`, so we split earlier than that.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable
from typing import Any

MAX_BLOCKS = 50  # blocks per message
MESSAGE_TEXT = 4000  # top-level `text`: Slack truncates at 40,000 and advises at most 4,000
MESSAGE_BLOCK_CHARS = 12000  # all text in one message's blocks (see module docstring)
SECTION_TEXT = 3000
SECTION_FIELDS = 10
SECTION_FIELD_TEXT = 2000
HEADER_TEXT = 150
CONTEXT_ELEMENTS = 10
TEXT_OBJECT = 3000  # any other text object (context elements and the like)
MARKDOWN_BLOCK_TEXT = 12000
IMAGE_ALT_TEXT = 2000
IMAGE_TITLE = 2000
FILE_ALT_TEXT = 1000  # files.getUploadURLExternal: alt_txt_too_large past 1,000
FILE_TITLE = 250  # not documented; long titles are cut in the UI anyway
MAX_FILE_BYTES = 1024**3  # 1 GiB per uploaded file

ELLIPSIS = "…"

# A cut must not leave half an entity ("&am") or half a link/mention ("<https://x|la").
_PARTIAL_ENTITY = re.compile(r"&[#a-zA-Z0-9]{0,6}$")


def escape(text: object) -> str:
    """Escape the three characters mrkdwn treats as control characters.

    Use on every value that comes from data (addresses, ENI names, tags...) before it
    goes into `text` or a mrkdwn text object. Slack asks for exactly these three, and
    not full HTML escaping.
    """
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _safe_cut(text: str, end: int) -> str:
    """`text[:end]`, moved back so it does not split an escape entity or a <...> token."""
    cut = text[:end]
    entity = _PARTIAL_ENTITY.search(cut)
    if entity and text[end : end + 8].find(";") != -1:
        cut = cut[: entity.start()]
    lt = cut.rfind("<")
    if lt > cut.rfind(">"):
        cut = cut[:lt]
    return cut


def truncate(text: str, limit: int, marker: str = ELLIPSIS) -> str:
    """Shorten `text` to at most `limit` characters, ending with `marker` when cut."""
    if len(text) <= limit:
        return text
    if limit <= len(marker):
        return marker[:limit]
    return _safe_cut(text, limit - len(marker)).rstrip() + marker


def split_text(text: str, limit: int) -> list[str]:
    """Split `text` into pieces of at most `limit` characters, at line breaks when it can."""
    if len(text) <= limit:
        return [text]
    pieces: list[str] = []
    current = ""
    for line in text.split("\n"):
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) <= limit:
            current = candidate
            continue
        if current:
            pieces.append(current)
        # A single line longer than the limit: cut it hard, still never inside a token.
        while len(line) > limit:
            head = _safe_cut(line, limit) or line[:limit]
            pieces.append(head)
            line = line[len(head) :]
        current = line
    if current:
        pieces.append(current)
    return pieces


def _fit_text_object(obj: Any, limit: int) -> Any:
    if isinstance(obj, dict) and isinstance(obj.get("text"), str):
        obj = {**obj, "text": truncate(obj["text"], limit)}
    return obj


def _fit_block(block: dict[str, Any]) -> list[dict[str, Any]]:
    """One block made to fit; a long plain section or markdown block becomes several."""
    block = copy.deepcopy(block)
    kind = block.get("type")
    if kind == "section":
        text = block.get("text")
        if isinstance(text, dict) and isinstance(text.get("text"), str) and len(text["text"]) > SECTION_TEXT:
            if "accessory" in block or "fields" in block or "block_id" in block:
                block["text"] = _fit_text_object(text, SECTION_TEXT)
            else:
                return [
                    {"type": "section", "text": {**text, "text": part}}
                    for part in split_text(text["text"], SECTION_TEXT)
                ]
        if isinstance(block.get("fields"), list):
            block["fields"] = [_fit_text_object(f, SECTION_FIELD_TEXT) for f in block["fields"][:SECTION_FIELDS]]
    elif kind == "header":
        block["text"] = _fit_text_object(block.get("text"), HEADER_TEXT)
    elif kind == "context" and isinstance(block.get("elements"), list):
        block["elements"] = [_fit_text_object(e, TEXT_OBJECT) for e in block["elements"][:CONTEXT_ELEMENTS]]
    elif kind == "markdown" and isinstance(block.get("text"), str):
        if len(block["text"]) > MARKDOWN_BLOCK_TEXT:
            return [{"type": "markdown", "text": part} for part in split_text(block["text"], MARKDOWN_BLOCK_TEXT)]
    elif kind == "image":
        if isinstance(block.get("alt_text"), str):
            block["alt_text"] = truncate(block["alt_text"], IMAGE_ALT_TEXT)
        if "title" in block:
            block["title"] = _fit_text_object(block["title"], IMAGE_TITLE)
    return [block]


def fit_blocks(blocks: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Copies of `blocks` within the per-block limits (text lengths, field and element counts)."""
    return [part for block in blocks for part in _fit_block(block)]


def block_text_length(block: Any) -> int:
    """Characters of text a block carries (what counts towards `msg_blocks_too_long`)."""
    if isinstance(block, str):
        return len(block)
    if isinstance(block, dict):
        return sum(block_text_length(v) for k, v in block.items() if k not in ("type", "block_id", "style"))
    if isinstance(block, list):
        return sum(block_text_length(v) for v in block)
    return 0


def paginate_blocks(
    blocks: list[dict[str, Any]], max_blocks: int = MAX_BLOCKS, max_chars: int = MESSAGE_BLOCK_CHARS
) -> list[list[dict[str, Any]]]:
    """Group blocks, in order, into messages of at most `max_blocks` blocks and `max_chars` text."""
    pages: list[list[dict[str, Any]]] = []
    page: list[dict[str, Any]] = []
    size = 0
    for block in blocks:
        n = block_text_length(block)
        if page and (len(page) >= max_blocks or size + n > max_chars):
            pages.append(page)
            page, size = [], 0
        if not page and block.get("type") == "divider" and pages:
            continue  # a page does not start with a divider
        page.append(block)
        size += n
    if page:
        pages.append(page)
    return pages


def fit_message(text: str, blocks: list[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    """Make one logical message fit Slack: a list of (text, blocks) messages to send in order.

    Usually one; more when the blocks exceed a message's limits (the extra ones are meant
    to follow in the thread). Without blocks, the text itself is split.
    """
    if not blocks:
        return [(part, []) for part in split_text(text, MESSAGE_TEXT)] or [("", [])]
    pages = paginate_blocks(fit_blocks(blocks))
    fallback = truncate(text, MESSAGE_TEXT)
    if len(pages) == 1:
        return [(fallback, pages[0])]
    first_line = truncate(text.split("\n", 1)[0], 200)
    return [
        (fallback if i == 0 else f"{first_line} (continued, {i + 1}/{len(pages)})", page)
        for i, page in enumerate(pages)
    ]
