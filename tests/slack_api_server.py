"""A local stand-in for Slack's Web API, so tests run the real slack-sdk without Slack.

`FakeSlack` is a threaded HTTP server on 127.0.0.1 (a free port) that answers the methods
flowdigest uses — auth.test, chat.postMessage, files.getUploadURLExternal, the upload URL
it hands out, files.completeUploadExternal (which shares the file as a message in the
thread), message `metadata`, conversations.history/replies (metadata only with
include_all_metadata), chat.update, chat.delete, files.delete — roughly as Slack does,
checks the bearer token, and records every request in order. Failures are scripted:

    fake.fail("chat.postMessage", status=429, retry_after=1)   # first call rate-limited
    fake.fail("chat.postMessage", error="not_in_channel", times=99)
    fake.fail("upload", status=500, nth=2)                     # the 2nd file upload breaks

Crashes are scripted too: `fake.hold(n, after=True)` makes the n-th request from now
(uploads included) block, after Slack acted on it when `after`, and sets `fake.held` so
a test can kill the client mid-call; `fake.delay` slows every request; `fake.late(method,
seconds)` answers that method's next call only after `seconds` (past the client's timeout).

Point slack-sdk at it with `WebClient(base_url=fake.base_url)` (or SLACK_API_URL).
Also here: the `slack_api` fixture and small helpers to build a report folder.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import re
import struct
import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from flowdigest.models import SlackFile, SlackMessage, SlackReply

TEST_TOKEN = "xoxb-1111111111-2222222222-TESTtokenSECRETvalue42"
TEST_CHANNEL = "C0FLOWDIGEST"
BOT_USER = "flowdigest"


@dataclass
class Recorded:
    method: str  # "auth.test", "chat.postMessage", ..., or "upload" for the upload URL
    path: str
    headers: dict[str, str]
    body: bytes
    params: dict[str, Any]  # the JSON or form body (plus query string), decoded
    status: int = 0  # what the server answered
    response: Any = None
    seq: int = 0  # its place among the requests since the last hold()


@dataclass
class _Failure:
    method: str
    nth: int | None  # the n-th call (1-based) of `method`; None: the next `times` calls
    times: int
    status: int
    error: str | None
    headers: dict[str, str]
    extra: dict[str, Any]


@dataclass
class PostedFile:
    file_id: str
    filename: str
    length: int
    alt_txt: str | None
    data: bytes | None = None
    title: str | None = None
    channel: str | None = None
    thread_ts: str | None = None
    completed: bool = False

    @property
    def chart(self) -> str:
        """The report's own name for the chart (flowdigest uploads it under a unique name)."""
        return chart_name(self.filename)


def chart_name(uploaded: str) -> str:
    return re.sub(r"^flowdigest-\d{4}-\d\d-\d\d-[0-9a-f]{8}-\d+-", "", uploaded)


@dataclass
class PostedMessage:
    channel: str
    ts: str
    thread_ts: str | None
    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)
    metadata: dict[str, Any] | None = None
    files: list[dict[str, Any]] = field(default_factory=list)
    edited: int = 0  # chat.update calls

    def as_api(self, with_metadata: bool) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "message", "ts": self.ts, "text": self.text, "blocks": self.blocks}
        if self.thread_ts:
            out["thread_ts"] = self.thread_ts
        if self.files:
            out["files"] = self.files
        if with_metadata and self.metadata:
            out["metadata"] = self.metadata
        return out


def _truthy(value: Any) -> bool:
    return str(value).lower() in ("1", "true")


def _page(items: list[dict[str, Any]], params: dict[str, Any]) -> dict[str, Any]:
    start = int(params.get("cursor") or 0)
    limit = int(params.get("limit") or 100)
    chunk = items[start : start + limit]
    more = start + limit < len(items)
    return {"ok": True, "messages": chunk, "has_more": more,
            "response_metadata": {"next_cursor": str(start + limit) if more else ""}}


def _text_length(value: Any) -> int:
    if isinstance(value, str):
        return len(value)
    if isinstance(value, dict):
        return sum(_text_length(v) for k, v in value.items() if k not in ("type", "block_id", "style"))
    if isinstance(value, list):
        return sum(_text_length(v) for v in value)
    return 0


class FakeSlack:
    def __init__(
        self,
        token: str = TEST_TOKEN,
        channels: tuple[str, ...] = (TEST_CHANNEL,),
        bot_user: str = BOT_USER,
        scopes: tuple[str, ...] = ("chat:write", "files:write", "channels:history", "groups:history"),
    ):
        self.token = token
        self.scopes = set(scopes)
        self.delay = 0.0  # seconds added to every request (half before Slack acts, half after)
        self.held = threading.Event()  # set when the request armed by hold() arrives
        self._hold: tuple[int, bool] | None = None  # (n-th request from now, after Slack acted)
        self._release = threading.Event()
        self._seen = 0
        self._late: dict[str, float] = {}
        self.channels = set(channels)
        self.bot_user = bot_user
        self.requests: list[Recorded] = []
        self.messages: list[PostedMessage] = []
        self.files: dict[str, PostedFile] = {}
        self._failures: list[_Failure] = []
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> FakeSlack:
        fake = self

        class Handler(_Handler):
            slack = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05})
        self._thread.daemon = True
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "not started"
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    # -- scripting and inspection -------------------------------------------------------------

    def fail(
        self,
        method: str,
        *,
        error: str | None = None,
        status: int | None = None,
        retry_after: int | None = None,
        nth: int | None = None,
        times: int = 1,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        """Answer `method` with an error: Slack's `{"ok": false, "error": error}` (HTTP 200
        unless `status`), an HTTP status (429 gets `ratelimited`), or both."""
        hdrs = dict(headers or {})
        if retry_after is not None:
            hdrs["Retry-After"] = str(retry_after)
        if status == 429 and error is None:
            error = "ratelimited"
        with self._lock:
            self._failures.append(_Failure(method, nth, times, status or 200, error, hdrs, extra))

    def calls(self, method: str | None = None) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if method is None or r.method == method]

    @property
    def methods(self) -> list[str]:
        return [r.method for r in self.calls()]

    def hold(self, nth: int, *, after: bool) -> None:
        """Block the `nth` request from now (1-based), before or after Slack acts on it."""
        with self._lock:
            self._seen, self._hold = 0, (nth, after)
            self.held.clear()
            self._release.clear()

    def release(self) -> None:
        """Let a held request finish (its client is usually dead by then) and disarm."""
        with self._lock:
            self._hold = None
        self._release.set()

    def late(self, method: str, seconds: float) -> None:
        """Act on the next `method` call at once, but answer it only after `seconds`."""
        self._late[method] = seconds

    def _pause(self, rec: Recorded, after: bool) -> None:
        """Called by the handler thread outside the lock: delay, hold, late answers."""
        if self.delay:
            time.sleep(self.delay / 2)
        with self._lock:
            if not after:
                self._seen += 1
                rec.seq = self._seen
            hold = self._hold is not None and self._hold == (rec.seq, after)
        if hold:
            self.held.set()
            self._release.wait(30)
        if after and rec.method in self._late:
            time.sleep(self._late.pop(rec.method))

    def top_level(self, channel: str = TEST_CHANNEL) -> list[PostedMessage]:
        return [m for m in self.messages if m.channel == channel and m.thread_ts is None]

    def thread(self, ts: str) -> list[PostedMessage]:
        return [m for m in self.messages if m.thread_ts == ts]

    def reset(self) -> None:
        """Forget the recorded requests (keeps posted messages and files)."""
        with self._lock:
            self.requests.clear()

    # -- the API ------------------------------------------------------------------------------

    def _next_failure(self, method: str, count: int) -> _Failure | None:
        for rule in self._failures:
            if rule.method != method or rule.times <= 0:
                continue
            if rule.nth is not None and rule.nth != count:
                continue
            rule.times -= 1
            return rule
        return None

    def handle(self, rec: Recorded) -> tuple[int, dict[str, str], bytes]:
        with self._lock:
            self._counts[rec.method] = count = self._counts.get(rec.method, 0) + 1
            self.requests.append(rec)
            rule = self._next_failure(rec.method, count)
            if rule is not None:
                body: Any = {"ok": False, "error": rule.error, **rule.extra} if rule.error else "error"
                return self._answer(rec, rule.status, body, rule.headers)
            if rec.method == "upload":
                return self._upload(rec)
            auth = rec.headers.get("authorization", "")
            if not auth:
                return self._answer(rec, 200, {"ok": False, "error": "not_authed"})
            if auth != f"Bearer {self.token}":
                return self._answer(rec, 200, {"ok": False, "error": "invalid_auth"})
            handler = {
                "auth.test": self._auth_test,
                "chat.postMessage": self._post_message,
                "files.getUploadURLExternal": self._get_upload_url,
                "files.completeUploadExternal": self._complete_upload,
                "conversations.history": self._history,
                "conversations.replies": self._replies,
                "chat.update": self._update,
                "chat.delete": self._delete,
                "files.delete": self._delete_file,
            }.get(rec.method)
            if rec.method.startswith("conversations.") and not self.scopes & {"channels:history", "groups:history"}:
                return self._answer(rec, 200, {"ok": False, "error": "missing_scope", "needed": "channels:history"})
            if handler is None:
                return self._answer(rec, 200, {"ok": False, "error": "unknown_method"})
            return self._answer(rec, 200, handler(rec.params))

    def _answer(
        self, rec: Recorded, status: int, body: Any, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        rec.status, rec.response = status, body
        if isinstance(body, (dict, list)):
            payload = json.dumps(body).encode()
            ctype = "application/json; charset=utf-8"
        else:
            payload = str(body).encode()
            ctype = "text/plain; charset=utf-8"
        return status, {"Content-Type": ctype, **(headers or {})}, payload

    def _ts(self) -> str:
        n = next(self._ids)  # Slack's ts: epoch seconds, unique and increasing within a channel
        return f"{int(time.time())}.{n:06d}"

    def _channel_error(self, channel: Any) -> dict[str, Any] | None:
        if channel not in self.channels:
            return {"ok": False, "error": "channel_not_found"}
        return None

    def _thread_error(self, channel: str, thread_ts: Any) -> dict[str, Any] | None:
        if thread_ts and not any(m.ts == thread_ts and m.channel == channel for m in self.messages):
            return {"ok": False, "error": "thread_not_found"}
        return None

    def _auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://flowdigest-test.slack.com/",
            "team": "flowdigest test",
            "user": self.bot_user,
            "team_id": "T0TEST",
            "user_id": "U0BOT",
            "bot_id": "B0BOT",
        }

    def _post_message(self, params: dict[str, Any]) -> dict[str, Any]:
        channel, thread_ts = params.get("channel"), params.get("thread_ts")
        problem = self._channel_error(channel) or self._thread_error(str(channel), thread_ts)
        if problem:
            return problem
        text = params.get("text") or ""
        blocks = params.get("blocks") or []
        if isinstance(blocks, str):
            blocks = json.loads(blocks)
        if not text and not blocks:
            return {"ok": False, "error": "no_text"}
        if len(text) > 40000:
            return {"ok": False, "error": "msg_too_long"}
        if len(blocks) > 50:
            return {"ok": False, "error": "invalid_blocks", "errors": ["must contain at most 50 blocks"]}
        for block in blocks:
            inner = block.get("text")
            if block.get("type") == "section" and isinstance(inner, dict) and len(inner.get("text", "")) > 3000:
                return {"ok": False, "error": "invalid_blocks", "errors": ["section text over 3000"]}
            if block.get("type") == "header" and isinstance(inner, dict) and len(inner.get("text", "")) > 150:
                return {"ok": False, "error": "invalid_blocks", "errors": ["header text over 150"]}
        if _text_length(blocks) > 13000:
            return {"ok": False, "error": "msg_blocks_too_long"}
        metadata = params.get("metadata")
        if isinstance(metadata, str):
            metadata = json.loads(metadata)
        if metadata is not None and not (isinstance(metadata, dict) and metadata.get("event_type")):
            return {"ok": False, "error": "invalid_metadata_format"}
        ts = self._ts()
        self.messages.append(PostedMessage(str(channel), ts, thread_ts, text, blocks, metadata))
        return {"ok": True, "channel": channel, "ts": ts, "message": {"text": text, "ts": ts, "thread_ts": thread_ts}}

    def _get_upload_url(self, params: dict[str, Any]) -> dict[str, Any]:
        filename, length, alt_txt = params.get("filename"), params.get("length"), params.get("alt_txt")
        if not filename or not str(length or "").isdigit() or int(length) <= 0:
            return {"ok": False, "error": "missing_argument"}
        if alt_txt is not None and len(alt_txt) > 1000:
            return {"ok": False, "error": "alt_txt_too_large"}
        file_id = f"F{next(self._ids):08d}"
        self.files[file_id] = PostedFile(file_id, str(filename), int(length), alt_txt)
        return {"ok": True, "upload_url": f"http://127.0.0.1:{self.port}/upload/{file_id}", "file_id": file_id}

    def _upload(self, rec: Recorded) -> tuple[int, dict[str, str], bytes]:
        file_id = rec.path.rsplit("/", 1)[-1]
        posted = self.files.get(file_id)
        if posted is None:
            return self._answer(rec, 404, "no such upload")
        posted.data = rec.body
        return self._answer(rec, 200, f"OK - {len(rec.body)}")

    def _complete_upload(self, params: dict[str, Any]) -> dict[str, Any]:
        try:
            items = json.loads(params.get("files") or "[]")
        except ValueError:
            return {"ok": False, "error": "invalid_arguments"}
        channel, thread_ts = params.get("channel_id"), params.get("thread_ts")
        if channel is not None:
            problem = self._channel_error(channel) or self._thread_error(str(channel), thread_ts)
            if problem:
                return problem
        done = []
        for item in items:
            posted = self.files.get(item.get("id"))
            if posted is None or posted.data is None:
                return {"ok": False, "error": "upload_incomplete"}
            posted.title = item.get("title")
            posted.channel, posted.thread_ts, posted.completed = channel, thread_ts, True
            done.append({"id": posted.file_id, "name": posted.filename, "title": posted.title})
        if channel is not None and done:  # Slack shares the files as one message (in the thread)
            self.messages.append(PostedMessage(str(channel), self._ts(), thread_ts, "", [], None, done))
        return {"ok": True, "files": done}

    def _find(self, channel: Any, ts: Any) -> PostedMessage | None:
        return next((m for m in self.messages if m.channel == channel and m.ts == ts), None)

    def _history(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = params.get("channel")
        problem = self._channel_error(channel)
        if problem:
            return problem
        oldest = float(params.get("oldest") or 0)
        meta = _truthy(params.get("include_all_metadata"))
        tops = [m for m in reversed(self.messages) if m.channel == channel and m.thread_ts is None]
        return _page([m.as_api(meta) for m in tops if float(m.ts) >= oldest], params)

    def _replies(self, params: dict[str, Any]) -> dict[str, Any]:
        channel, ts = params.get("channel"), params.get("ts")
        parent = self._find(channel, ts)
        if self._channel_error(channel) or parent is None:
            return self._channel_error(channel) or {"ok": False, "error": "thread_not_found"}
        meta = _truthy(params.get("include_all_metadata"))
        thread = [parent] + [m for m in self.messages if m.channel == channel and m.thread_ts == ts]
        return _page([m.as_api(meta) for m in thread], params)

    def _update(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._find(params.get("channel"), params.get("ts"))
        if message is None:
            return {"ok": False, "error": "message_not_found"}
        blocks = params.get("blocks") or []
        message.text = params.get("text") or ""
        message.blocks = json.loads(blocks) if isinstance(blocks, str) else blocks
        metadata = params.get("metadata")
        if metadata:
            message.metadata = json.loads(metadata) if isinstance(metadata, str) else metadata
        message.edited += 1
        return {"ok": True, "channel": message.channel, "ts": message.ts, "text": message.text}

    def _delete(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._find(params.get("channel"), params.get("ts"))
        if message is None:
            return {"ok": False, "error": "message_not_found"}
        self.messages.remove(message)
        return {"ok": True, "channel": message.channel, "ts": message.ts}

    def _delete_file(self, params: dict[str, Any]) -> dict[str, Any]:
        posted = self.files.pop(str(params.get("file")), None)
        if posted is None:
            return {"ok": False, "error": "file_not_found"}
        for message in list(self.messages):  # the share goes with the file
            message.files = [f for f in message.files if f["id"] != posted.file_id]
            if not message.files and not message.text and not message.blocks:
                self.messages.remove(message)
        return {"ok": True}


class _Handler(BaseHTTPRequestHandler):
    slack: FakeSlack

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass

    def do_POST(self) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        ctype = self.headers.get("Content-Type", "")
        params: dict[str, Any] = dict(parse_qsl(url.query))
        if url.path.startswith("/upload/"):
            method = "upload"
        else:
            method = url.path.removeprefix("/api/")
            if "json" in ctype and body:
                params.update(json.loads(body))
            elif "x-www-form-urlencoded" in ctype:
                params.update(parse_qsl(body.decode()))
        rec = Recorded(method, url.path, {k.lower(): v for k, v in self.headers.items()}, body, params)
        self.slack._pause(rec, after=False)
        status, headers, payload = self.slack.handle(rec)
        self.slack._pause(rec, after=True)
        try:
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except OSError:  # the client was killed or timed out
            pass

    do_GET = do_POST


@pytest.fixture
def slack_api() -> Iterator[FakeSlack]:
    """A running FakeSlack that accepts TEST_TOKEN and knows TEST_CHANNEL."""
    with FakeSlack() as fake:
        yield fake


# -- report helpers ----------------------------------------------------------------------------


def make_png(seed: int, width: int = 4, height: int = 3) -> bytes:
    """A small valid PNG whose pixels depend on `seed` (so every chart's bytes differ)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = b"".join(
        b"\x00" + bytes((seed * 37 + x * 11 + y * 5) % 256 for x in range(width * 3)) for y in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


CHARTS = {
    "headline.png": ("Traffic over the day", "Bar chart of bytes per hour, ingress and egress, 2024-05-01"),
    "top_talkers.png": ("Top talkers by bytes", "Horizontal bars: 10 source → destination pairs by bytes"),
    "rejected.png": ("Rejected traffic", "Bars: top rejected sources & destination ports <scan>"),
}


def sample_message(report_date: dt.date = dt.date(2024, 5, 1)) -> SlackMessage:
    """A digest shaped like the real one: summary, then charts and detail replies in the thread."""
    day = report_date.isoformat()
    return SlackMessage(
        report_date=report_date,
        text=f"VPC flow logs {day}: 1.2 GiB, 3.4 k flows, 12 rejected",
        blocks=[
            {"type": "header", "text": {"type": "plain_text", "text": f"VPC flow logs — {day}"}},
            {"type": "section", "text": {"type": "mrkdwn", "text": "*1.2 GiB* in 3.4 k flows; *12* rejected"}},
        ],
        thread=[
            SlackFile(file="headline.png", title=CHARTS["headline.png"][0], alt_text=CHARTS["headline.png"][1]),
            SlackReply(
                text="Top talkers",
                blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": "10.0.1.5 → 52.1.2.3: 800 MiB"}}],
            ),
            SlackFile(
                file="top_talkers.png", title=CHARTS["top_talkers.png"][0], alt_text=CHARTS["top_talkers.png"][1]
            ),
            SlackFile(file="rejected.png", title=CHARTS["rejected.png"][0], alt_text=CHARTS["rejected.png"][1]),
            SlackReply(
                text="Data health",
                blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": "24/24 hours delivered"}}],
            ),
        ],
    )


def write_report(folder: Path, message: SlackMessage | None = None) -> tuple[SlackMessage, dict[str, bytes]]:
    """Write message.json and the charts it names into `folder`; returns (message, name → bytes)."""
    message = message or sample_message()
    folder.mkdir(parents=True, exist_ok=True)
    pngs: dict[str, bytes] = {}
    for i, item in enumerate(message.thread):
        if isinstance(item, SlackFile):
            pngs[item.file] = make_png(i)
            (folder / item.file).write_bytes(pngs[item.file])
    (folder / "message.json").write_text(message.model_dump_json(indent=2), encoding="utf-8")
    return message, pngs


def files(folder: Path | Any) -> Any:
    """The chart reader `deliver` takes: a report folder's, or `folder` itself if it is one."""
    from flowdigest.slack.poster import store_reader
    from flowdigest.store import LocalStore

    return folder if callable(folder) else store_reader(LocalStore(Path(folder)))


def assert_posted_once(slack: FakeSlack, message: SlackMessage) -> None:
    """The channel holds the day's summary once; under it each chart once and each reply once, in order."""
    day = message.report_date.isoformat()
    tops = [m for m in slack.top_level() if (m.metadata or {}).get("event_payload", {}).get("report_date") == day]
    assert len(tops) == 1, [m.text for m in tops]
    expected = [f"file:{i.file}" if isinstance(i, SlackFile) else f"reply:{i.text}" for i in message.thread]
    thread = slack.thread(tops[0].ts)
    seen = [f"file:{chart_name(m.files[0]['name'])}" if m.files else f"reply:{m.text}" for m in thread]
    assert seen == expected
