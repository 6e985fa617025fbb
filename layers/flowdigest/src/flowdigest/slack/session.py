"""One delivery's Slack Web API calls, with slack-sdk's failures turned into SlackDeliveryErrors.

The client retries only what cannot post twice: a 429 (Slack did nothing) and a failed
connection attempt. A dropped or timed-out answer to a post is not retried here: Slack may
have accepted it, so poster.py looks in the channel before posting it again.
"""

from __future__ import annotations

import http.client
import logging
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal
from urllib.error import HTTPError, URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web import SlackResponse

from flowdigest.slack.credentials import SlackSettings
from flowdigest.slack.errors import SlackDeliveryError, SlackTransientError, from_slack_error

logger = logging.getLogger(__name__)

EVENT_TYPE = "flowdigest_report"  # the metadata event type on every message flowdigest posts
NO_ANSWER = "no_answer"  # our code for a call whose answer never came: Slack may have acted on it
MAX_RATE_LIMIT_WAIT = 60  # seconds: a longer Retry-After ends the run (exit 75) instead


def _retry_after(response: HttpResponse | None) -> int | None:
    for name, values in (response.headers if response else {}).items():
        if name.lower() == "retry-after" and values and str(values[0]).strip().isdigit():
            return int(str(values[0]).strip())
    return None


class _RateLimitWait(RateLimitErrorRetryHandler):
    """Waits out a 429 up to `max_wait` seconds, saying so; a longer wait is left to the caller."""

    def __init__(self, max_retry_count: int, max_wait: int):
        super().__init__(max_retry_count=max_retry_count)
        self.max_wait = max_wait

    def _can_retry(
        self, *, state: RetryState, request: HttpRequest, response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if not super()._can_retry(state=state, request=request, response=response, error=error):
            return False
        wait = _retry_after(response) or 1
        if wait > self.max_wait:
            return False
        method = request.url.split("?", 1)[0].rsplit("/", 1)[-1]
        logger.warning("Slack: rate-limited on %s; waiting %d s as Slack asks (Retry-After)", method, wait)
        return True


class _ConnectFailed(RetryHandler):
    """Retries a request that never reached Slack (refused or unresolvable connection)."""

    def _can_retry(
        self, *, state: RetryState, request: HttpRequest, response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        reason = getattr(error, "reason", None)
        # A timeout or a reset may come after Slack took the post: those are not retried blindly.
        unsure = isinstance(reason, (TimeoutError, ConnectionResetError))
        return response is None and isinstance(error, URLError) and isinstance(reason, OSError) and not unsure


def make_client(
    settings: SlackSettings,
    *,
    rate_limit_retries: int = 3,
    connection_retries: int = 2,
    backoff: float = 0.5,
    timeout: int = 30,
    max_rate_limit_wait: int = MAX_RATE_LIMIT_WAIT,
) -> WebClient:
    from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator

    return WebClient(
        token=settings.token,
        base_url=settings.base_url,
        timeout=timeout,
        retry_handlers=[
            _ConnectFailed(connection_retries, BackoffRetryIntervalCalculator(backoff_factor=backoff)),
            _RateLimitWait(rate_limit_retries, max_rate_limit_wait),
        ],
    )


@dataclass(frozen=True)
class Step:
    """One Slack call of a posting; `key` names it in the ledger and in the message metadata."""

    key: str  # "summary", "summary.1", "thread.3", "thread.3.1"
    kind: Literal["summary", "reply", "file"]
    text: str = ""
    blocks: tuple[dict[str, Any], ...] = ()
    filename: str = ""  # unique per report and chart: how a rerun recognises it in the thread
    title: str = ""
    alt_text: str = ""
    data: bytes = b""


class SlackSession:
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
            never_sent = isinstance(reason, (ConnectionRefusedError, socket.gaierror))
            raise SlackTransientError(
                f"could not reach Slack for {method} ({reason})",
                hint=f"check network access to {self.settings.base_url} (SLACK_API_URL, proxy settings); "
                "the retry resumes",
                code="unreachable" if never_sent else NO_ANSWER,
                method=method,
            ) from None

    def _api_error(self, method: str, exc: SlackApiError) -> SlackDeliveryError:
        response = exc.response
        data = response.data if isinstance(response.data, dict) else {}
        # files_upload_v2 makes several calls: name the one that failed.
        failed = str(response.api_url or "").split("?", 1)[0].rsplit("/", 1)[-1] or method
        code = str(data.get("error") or "")
        if response.status_code == 429:
            wait = next((v for k, v in (response.headers or {}).items() if k.lower() == "retry-after"), None)
            wait_s = str(wait[0] if isinstance(wait, list) else wait or "").strip()
            if wait_s.isdigit():
                return SlackTransientError(
                    f"Slack rate-limited {failed} and asks to wait {wait_s} s, longer than this run waits",
                    hint="run again later; what was posted so far is kept and not repeated",
                    code="ratelimited", method=failed,
                )
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

    def post(self, step: Step, thread_ts: str | None, metadata: dict[str, Any]) -> str:
        """Posts `step`; returns the message ts (or the file ID of a chart)."""
        if step.kind == "file":
            response = self.call(
                "files.upload_v2",
                lambda: self.client.files_upload_v2(
                    channel=self.settings.channel, thread_ts=thread_ts, filename=step.filename,
                    content=step.data, title=step.title, alt_txt=step.alt_text,
                ),
            )
            files = response.get("files") or []
            return str(files[0].get("id", "")) if files else ""
        response = self.call(
            "chat.postMessage",
            lambda: self.client.chat_postMessage(
                channel=self.settings.channel, text=step.text, blocks=list(step.blocks) or None,
                thread_ts=thread_ts, unfurl_links=False, unfurl_media=False, metadata=metadata,
            ),
        )
        return str(response["ts"])

    def update(self, ts: str, step: Step, metadata: dict[str, Any]) -> None:
        self.call(
            "chat.update",
            lambda: self.client.chat_update(
                channel=self.settings.channel, ts=ts, text=step.text, blocks=list(step.blocks) or [],
                metadata=metadata,
            ),
        )

    def remove(self, item: str) -> None:
        """Delete a message (ts) or a file (ID) the bot posted; already gone is fine."""
        try:
            if item[:1].isdigit():
                self.call("chat.delete", lambda: self.client.chat_delete(channel=self.settings.channel, ts=item))
            else:
                self.call("files.delete", lambda: self.client.files_delete(file=item))
        except SlackDeliveryError as exc:
            if exc.code not in ("message_not_found", "file_not_found", "file_deleted"):
                raise

    def history(self, oldest: float) -> Iterator[dict[str, Any]]:
        """Top-level messages of the channel since `oldest` (epoch seconds), metadata included."""
        yield from self._pages(
            "conversations.history",
            lambda cursor: self.client.conversations_history(
                channel=self.settings.channel, oldest=str(max(0.0, oldest)), limit=200,
                include_all_metadata=True, cursor=cursor,
            ),
        )

    def replies(self, ts: str) -> Iterator[dict[str, Any]]:
        """The thread under `ts`, metadata and files included."""
        yield from self._pages(
            "conversations.replies",
            lambda cursor: self.client.conversations_replies(
                channel=self.settings.channel, ts=ts, limit=200, include_all_metadata=True, cursor=cursor,
            ),
        )

    def _pages(self, method: str, fetch: Callable[[str | None], SlackResponse]) -> Iterator[dict[str, Any]]:
        cursor: str | None = None
        for _ in range(50):  # 10,000 messages: far more than a day's digests
            response = self.call(method, lambda at=cursor: fetch(at))  # type: ignore[misc]
            yield from response.get("messages") or []
            cursor = (response.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor:
                return
