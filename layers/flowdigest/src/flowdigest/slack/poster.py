"""Post a day's digest to Slack: the summary message, then its thread (charts and details).

Delivery is resumable and idempotent through the ledger (see ledger.py): each Slack call
that succeeds is recorded before the next one starts, so a retry completes a partial post
instead of repeating it, and a day already posted is not posted again unless forced.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Literal
from urllib.error import HTTPError, URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator
from slack_sdk.web import SlackResponse

from flowdigest.models import SlackFile, SlackMessage
from flowdigest.slack import limits
from flowdigest.slack.credentials import SlackSettings
from flowdigest.slack.errors import (
    ReportFileError,
    SlackDeliveryError,
    SlackTransientError,
    from_slack_error,
)
from flowdigest.slack.ledger import DeliveryRecord, Ledger, default_owner

logger = logging.getLogger(__name__)

FileReader = Callable[[str], bytes]
"""Returns the bytes of a report file named relative to the report folder (e.g. "top_talkers.png")."""


def folder_reader(folder: str | os.PathLike[str]) -> FileReader:
    """Read report files from a local folder (the CLI's outbox); names may not leave it."""
    root = Path(folder).resolve()

    def read(name: str) -> bytes:
        path = (root / name).resolve()
        if not path.is_relative_to(root):
            raise ValueError(f"{name!r} is outside the report folder")
        return path.read_bytes()

    return read


def s3_reader(bucket: str, prefix: str = "", *, client: Any = None) -> FileReader:
    """Read report files from `s3://bucket/prefix/<name>` (the Lambda's reports bucket)."""
    if client is None:
        import boto3

        client = boto3.client("s3")

    def read(name: str) -> bytes:
        key = f"{prefix.rstrip('/')}/{name}" if prefix else name
        body: bytes = client.get_object(Bucket=bucket, Key=key)["Body"].read()
        return body

    return read


def make_client(
    settings: SlackSettings,
    *,
    rate_limit_retries: int = 3,
    connection_retries: int = 2,
    backoff: float = 0.5,
    timeout: int = 30,
) -> WebClient:
    """A WebClient that waits out 429s (sleeping Retry-After) and retries dropped connections.

    Slack's error responses (`ok: false`) are not retried here: the ones that can heal
    are left to the caller's retry (Step Functions), which resumes through the ledger.
    """
    return WebClient(
        token=settings.token,
        base_url=settings.base_url,
        timeout=timeout,
        retry_handlers=[
            ConnectionErrorRetryHandler(
                max_retry_count=connection_retries,
                interval_calculator=BackoffRetryIntervalCalculator(backoff_factor=backoff),
            ),
            RateLimitErrorRetryHandler(max_retry_count=rate_limit_retries),
        ],
    )


# --- the plan: every Slack call the message needs, each with a stable key --------------------


@dataclass(frozen=True)
class _Step:
    key: str  # "summary", "summary.1", "thread.3", "thread.3.1": the ledger's record of it
    kind: Literal["summary", "reply", "file"]
    text: str = ""
    blocks: tuple[dict[str, Any], ...] = ()
    filename: str = ""
    title: str = ""
    alt_text: str = ""
    data: bytes = b""


def _read_chart(item: SlackFile, read_file: FileReader) -> bytes:
    try:
        data = read_file(item.file)
    except Exception as exc:
        raise ReportFileError(
            f"could not read the chart {item.file!r}: {type(exc).__name__}: {exc}",
            hint="the report folder lacks a file message.json refers to: re-run the render step",
        ) from None
    if not data:
        raise ReportFileError(f"the chart {item.file!r} is empty", hint="re-run the render step")
    if len(data) > limits.MAX_FILE_BYTES:
        raise ReportFileError(
            f"the chart {item.file!r} is {len(data)} bytes, over Slack's 1 GiB limit",
            hint="render it smaller",
        )
    return data


def plan(message: SlackMessage, read_file: FileReader) -> list[_Step]:
    """The calls to make, in order. Reads every chart first, so a missing one fails the
    delivery before anything is posted rather than half-way through."""
    steps: list[_Step] = []
    for page, (text, blocks) in enumerate(limits.fit_message(message.text, message.blocks)):
        if page == 0:
            steps.append(_Step("summary", "summary", text=text, blocks=tuple(blocks)))
        else:  # overflow of a very long summary: it continues in the thread
            steps.append(_Step(f"summary.{page}", "reply", text=text, blocks=tuple(blocks)))
    for i, item in enumerate(message.thread):
        if isinstance(item, SlackFile):
            steps.append(
                _Step(
                    f"thread.{i}",
                    "file",
                    filename=PurePosixPath(item.file).name,
                    title=limits.truncate(item.title, limits.FILE_TITLE),
                    alt_text=limits.truncate(item.alt_text, limits.FILE_ALT_TEXT),
                    data=_read_chart(item, read_file),
                )
            )
            continue
        for page, (text, blocks) in enumerate(limits.fit_message(item.text, item.blocks)):
            if not text and not blocks:
                continue  # an empty reply: Slack would refuse it (no_text)
            key = f"thread.{i}" if page == 0 else f"thread.{i}.{page}"
            steps.append(_Step(key, "reply", text=text, blocks=tuple(blocks)))
    return steps


def message_digest(message: SlackMessage) -> str:
    return hashlib.sha256(message.model_dump_json().encode()).hexdigest()[:16]


# --- delivery ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeliveryResult:
    status: Literal["posted", "resumed", "already_posted"]
    report_date: str
    channel: str
    summary_ts: str | None
    run: int
    posted: tuple[str, ...]  # step keys posted by this run
    skipped: tuple[str, ...]  # step keys an earlier run had posted

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def describe(self) -> str:
        where = f"{self.report_date} in {self.channel}"
        if self.status == "already_posted":
            return f"{where} was already posted (ts {self.summary_ts}); nothing sent. Use --force to post it again"
        done = f"{len(self.posted)} message(s)/chart(s) sent"
        if self.status == "resumed":
            done += f", {len(self.skipped)} already there from the interrupted run"
        return f"posted {where} (ts {self.summary_ts}): {done}"


class SlackSession:
    """One delivery's Slack calls, turning slack-sdk's failures into SlackDeliveryErrors."""

    def __init__(self, client: WebClient, settings: SlackSettings):
        self.client = client
        self.settings = settings
        self.bot: str | None = None

    def call(self, method: str, fn: Callable[[], SlackResponse]) -> SlackResponse:
        try:
            return fn()
        except SlackApiError as exc:
            raise self._api_error(method, exc) from None
        except HTTPError as exc:  # the upload URL answered with an HTTP error
            raise SlackTransientError(
                f"{method}: the file upload was refused with HTTP {exc.code}",
                hint="temporary on Slack's side; the retry resumes with this chart",
                method=method,
            ) from None
        except SlackRequestError as exc:  # slack-sdk's own checks, e.g. a non-200 upload
            raise SlackTransientError(
                f"{method} failed: {exc}", hint="the retry resumes with this item", method=method
            ) from None
        except (URLError, OSError, http.client.HTTPException) as exc:
            reason = getattr(exc, "reason", None) or type(exc).__name__
            raise SlackTransientError(
                f"could not reach Slack for {method} ({reason})",
                hint=f"check network access to {self.settings.base_url} (SLACK_API_URL, proxy settings); "
                "the retry resumes",
                method=method,
            ) from None

    def _api_error(self, method: str, exc: SlackApiError) -> SlackDeliveryError:
        response = exc.response
        data = response.data if isinstance(response.data, dict) else {}
        # files_upload_v2 makes several calls: name the one that failed.
        failed = str(response.api_url or "").split("?", 1)[0].rsplit("/", 1)[-1] or method
        code = str(data.get("error") or "")
        if response.status_code == 429:
            code = "ratelimited"
        elif response.status_code >= 500:
            code = "internal_error"
        elif not code or " " in code:  # not Slack's JSON (a proxy's error page, say): keep it short
            code = f"http_{response.status_code}_unexpected_response"
        return from_slack_error(
            code,
            method=failed,
            channel=self.settings.channel,
            bot=self.bot,
            response={k: v for k, v in data.items() if k in ("needed", "provided")},
            api_url=self.settings.base_url,
        )

    def auth_test(self) -> None:
        response = self.call("auth.test", self.client.auth_test)
        self.bot = str(response.get("user") or "") or None

    def post(self, step: _Step, thread_ts: str | None) -> str:
        if step.kind == "file":
            response = self.call(
                "files.upload_v2",
                lambda: self.client.files_upload_v2(
                    channel=self.settings.channel,
                    thread_ts=thread_ts,
                    filename=step.filename,
                    content=step.data,
                    title=step.title,
                    alt_txt=step.alt_text,
                ),
            )
            files = response.get("files") or []
            return str(files[0].get("id", "")) if files else ""
        response = self.call(
            "chat.postMessage",
            lambda: self.client.chat_postMessage(
                channel=self.settings.channel,
                text=step.text,
                blocks=list(step.blocks) or None,
                thread_ts=thread_ts,
                unfurl_links=False,
                unfurl_media=False,
            ),
        )
        return str(response["ts"])


def deliver(
    message: SlackMessage,
    files: str | os.PathLike[str] | FileReader,
    settings: SlackSettings,
    ledger: Ledger,
    force: bool = False,
    *,
    owner: str | None = None,
    client: WebClient | None = None,
) -> DeliveryResult:
    """Post `message` to `settings.channel` once, resuming an interrupted posting.

    files: the report folder, or a FileReader (e.g. s3_reader) for the charts.
    owner: this invocation in the ledger: the same across retries of one attempt, new for
        each new attempt. In Step Functions pass the execution ARN: a retried task then
        resumes at once, and a forced execution posts once however often its task retries.
        Default: this process.
    Raises a SlackDeliveryError subclass; its str() is one line ending with the fix.
    """
    reader = files if callable(files) else folder_reader(files)
    steps = plan(message, reader)
    report_date = message.report_date.isoformat()
    digest = message_digest(message)
    claim = ledger.claim(report_date, settings.channel, owner=owner or default_owner(), force=force, digest=digest)
    record = claim.record
    if claim.already_posted:
        logger.info("slack: %s already in %s (ts %s); nothing sent", report_date, settings.channel, record.summary_ts)
        return DeliveryResult("already_posted", report_date, settings.channel, record.summary_ts, record.run, (), ())
    if claim.resumed and record.message_digest and record.message_digest != digest:
        logger.warning("slack: message.json changed since the interrupted run began; finishing with the new one")

    session = SlackSession(client or make_client(settings), settings)
    posted: list[str] = []
    skipped: list[str] = []
    try:
        session.auth_test()
        for step in steps:
            if step.key in record.done:
                skipped.append(step.key)
                continue
            result = session.post(step, thread_ts=record.summary_ts)
            _record(record, step, result)
            ledger.save(record)
            posted.append(step.key)
            logger.info("slack: %s %s posted (%s)", report_date, step.key, step.kind)
        ledger.complete(record)
    except SlackDeliveryError as exc:
        logger.warning("slack: delivery of %s stopped after %d step(s): %s", report_date, len(posted), exc)
        _release(ledger, record)
        raise
    except BaseException:
        _release(ledger, record)
        raise
    status: Literal["posted", "resumed"] = "resumed" if skipped else "posted"
    return DeliveryResult(
        status, report_date, settings.channel, record.summary_ts, record.run, tuple(posted), tuple(skipped)
    )


def _record(record: DeliveryRecord, step: _Step, result: str) -> None:
    record.done[step.key] = result
    if step.kind == "summary":
        record.summary_ts = result


def _release(ledger: Ledger, record: DeliveryRecord) -> None:
    try:
        ledger.release(record)
    except Exception as exc:  # the lease then simply expires
        logger.warning("slack: could not release the delivery lease: %s", type(exc).__name__)
