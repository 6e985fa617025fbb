"""Post a stored report to Slack: the summary message, then its thread (charts and details).

`post_report` is the one delivery path: the CLI's `post` and the Slack Lambda both call it.
It posts the day's digest to the main channel and, when the settings route accounts or
VPCs (credentials.py `routes`), each routed channel its part (routed_message.py), each
channel a delivery of its own: its own ledger record, so one failing neither stops nor
repeats the others.
Delivery is exactly-once through the ledger (ledger.py) and the channel itself: before each
Slack call the step is recorded as `pending`; after it, its result. A run that finds a
pending step (the last one was killed mid-call, or Slack answered after the timeout)
looks for it in the channel first, by the message metadata every post carries and by the
chart's unique file name, and adopts what is there instead of posting it again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import PurePosixPath
from typing import Any, Literal, TypeVar

from pydantic import ValidationError
from slack_sdk import WebClient

from flowdigest.models import Report, SlackFile, SlackMessage
from flowdigest.routed_message import build_routed
from flowdigest.slack import limits
from flowdigest.slack.credentials import SlackSettings
from flowdigest.slack.errors import ReportFileError, SlackDeliveryError, SlackTransientError
from flowdigest.slack.ledger import DeliveryRecord, Ledger, default_owner
from flowdigest.slack.session import EVENT_TYPE, NO_ANSWER, SlackSession, Step, make_client
from flowdigest.store import Store

logger = logging.getLogger(__name__)

FileReader = Callable[[str], bytes]
"""Returns the bytes of a report file named relative to the report folder (e.g. "top_talkers.png")."""

STEP_ATTEMPTS = 3  # a step whose answer was lost: look in the channel, then post again


# --- the plan: every Slack call the message needs, each with a stable key --------------------


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


def message_digest(message: SlackMessage) -> str:
    return hashlib.sha256(message.model_dump_json().encode()).hexdigest()[:16]


def plan(message: SlackMessage, read_file: FileReader) -> list[Step]:
    """The calls to make, in order, fitted to Slack's limits. Reads every chart first, so a
    missing one fails the delivery before anything is posted rather than half-way through."""
    steps: list[Step] = []
    for page, (text, blocks) in enumerate(limits.fit_message(message.text, message.blocks)):
        if page == 0:
            steps.append(Step("summary", "summary", text=text, blocks=tuple(blocks)))
        else:  # overflow of a very long summary: it continues in the thread
            steps.append(Step(f"summary.{page}", "reply", text=text, blocks=tuple(blocks)))
    stamp = f"{message.report_date.isoformat()}-{message_digest(message)[:8]}"
    for i, item in enumerate(message.thread):
        if isinstance(item, SlackFile):
            name = PurePosixPath(item.file).name
            steps.append(
                Step(
                    f"thread.{i}",
                    "file",
                    filename=f"flowdigest-{stamp}-{i}-{name}",
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
            steps.append(Step(key, "reply", text=text, blocks=tuple(blocks)))
    return steps


def _metadata(record: DeliveryRecord, key: str) -> dict[str, Any]:
    payload = {"report_date": record.report_date, "part": key, "run": record.run, "revision": record.revision}
    return {"event_type": EVENT_TYPE, "event_payload": payload}


# --- the result ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeliveryResult:
    status: Literal["posted", "resumed", "updated", "already_posted"]
    report_date: str
    channel: str
    summary_ts: str | None
    run: int
    posted: tuple[str, ...]  # step keys posted by this run
    skipped: tuple[str, ...]  # step keys an earlier run had posted (or that were found in the channel)
    changed: bool = False  # already posted with other content: --update would edit it
    scopes: tuple[str, ...] = ()  # a routed channel: the account and VPC ids it gets
    routed: tuple[DeliveryResult, ...] = ()  # the main channel's result: the routed channels' results

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def each(self) -> tuple[DeliveryResult, ...]:
        """This channel's result and the routed channels'."""
        return (self, *self.routed)

    def describe(self) -> str:
        where = f"{self.report_date} in {self.channel}" + (f" ({', '.join(self.scopes)})" if self.scopes else "")
        if self.status == "already_posted" and self.changed:
            return (
                f"{where} was already posted (ts {self.summary_ts}), but this report differs from what was "
                "posted; nothing sent. Use --update to edit that post in place (or --force to post it again)"
            )
        if self.status == "already_posted":
            return f"{where} was already posted (ts {self.summary_ts}); nothing sent. Use --force to post it again"
        done = f"{len(self.posted)} message(s)/chart(s) sent"
        if self.status == "updated":
            return f"updated {where} (ts {self.summary_ts}) in place: {done}, the old thread replaced"
        if self.status == "resumed":
            done += f", {len(self.skipped)} already there from the interrupted run"
        return f"posted {where} (ts {self.summary_ts}): {done}"


# --- delivery ---------------------------------------------------------------------------------


def store_reader(store: Store, folder: str = "") -> FileReader:
    """Reads the report's files (charts) from `folder` of `store`; names may not leave it."""

    def read(name: str) -> bytes:
        if name.startswith("/") or ".." in PurePosixPath(name).parts:
            raise ValueError(f"{name!r} is outside the report folder")
        return store.read_bytes(f"{folder}/{name}" if folder else name)

    return read


_Stored = TypeVar("_Stored", SlackMessage, Report)


def _read_stored(store: Store, key: str, model: type[_Stored], what: str) -> _Stored:
    try:
        return model.model_validate_json(store.read_bytes(key))
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        raise ReportFileError(f"{key} does not exist", hint="run the digest first; it writes it") from None
    except ValidationError as exc:
        raise ReportFileError(
            f"{key} is not a valid {what} ({exc.error_count()} problem(s))",
            hint="re-run the digest to regenerate the outbox",
        ) from None


def routed_messages(
    store: Store, folder: str, settings: SlackSettings, message: SlackMessage
) -> list[tuple[SlackSettings, SlackMessage, tuple[str, ...]]]:
    """Each routed channel's settings, message and account/VPC ids, built from the report.json
    beside the message; none without routes (report.json is then not read)."""
    if not settings.routes:
        return []
    key = f"{folder}/report.json" if folder else "report.json"
    report = _read_stored(store, key, Report, "report")
    if report.report_date != message.report_date:
        raise ReportFileError(
            f"{key} is for {report.report_date} but its message.json for {message.report_date}",
            hint="re-run the digest: both files come from one run",
        )
    return [(settings.for_channel(channel), build_routed(report, scopes, settings.channel), scopes)
            for channel, scopes in settings.routed_channels().items()]


def post_report(
    store: Store,
    message_key: str,
    settings: SlackSettings,
    ledger: Ledger,
    *,
    force: bool = False,
    update: bool = False,
    owner: str | None = None,
    client: WebClient | None = None,
) -> DeliveryResult:
    """Post the report whose message is `message_key` in `store` (its charts beside it) to
    the main channel, then each routed channel its part. Every channel is tried; when some
    failed, one error naming each of them is raised after the others were posted."""
    folder = message_key.rpartition("/")[0]
    read = store_reader(store, folder)
    message = _read_stored(store, message_key, SlackMessage, "message")
    deliveries = [(settings, message, ()), *routed_messages(store, folder, settings, message)]
    client = client or make_client(settings)
    results: list[DeliveryResult] = []
    failures: list[tuple[str, SlackDeliveryError]] = []
    for target, part, scopes in deliveries:
        try:
            result = deliver(part, read, target, ledger, force=force, update=update, owner=owner, client=client)
        except SlackDeliveryError as exc:
            if len(deliveries) == 1:
                raise
            failures.append((target.channel, exc))
            continue
        results.append(replace(result, scopes=scopes))
    if failures:
        raise _failed_in(failures, results, len(deliveries))
    main, *routed = results
    return replace(main, routed=tuple(routed))


def _failed_in(
    failures: list[tuple[str, SlackDeliveryError]], posted: list[DeliveryResult], channels: int
) -> SlackDeliveryError:
    """One error for the channels that failed: of the class of the first that waiting cannot
    heal (else the first), so the exit code and Step Functions' retry follow what needs doing."""
    worst = next((exc for _, exc in failures if not exc.retryable), failures[0][1])
    what = "; ".join(f"{channel}: {exc.message}" for channel, exc in failures)
    done = f" ({', '.join(r.channel for r in posted)} fine)" if posted else ""
    hints = "; ".join(dict.fromkeys(exc.hint for _, exc in failures))
    return type(worst)(
        f"{len(failures)} of {channels} channels failed{done}: {what}",
        hint=f"{hints}; then run again: what each channel already has is not posted twice",
        code=worst.code, method=worst.method,
    )


def deliver(
    message: SlackMessage,
    read_file: FileReader,
    settings: SlackSettings,
    ledger: Ledger,
    force: bool = False,
    *,
    update: bool = False,
    owner: str | None = None,
    client: WebClient | None = None,
) -> DeliveryResult:
    """Post `message` to `settings.channel` once, resuming an interrupted posting.

    owner: this invocation in the ledger: the same across retries of one attempt, new for
        each new attempt. In Step Functions pass the execution ARN: a retried task then
        resumes at once, and a forced execution posts once however often its task retries.
        Default: this process.
    update: a day already posted with other content is edited in place (chat.update on the
        summary; the thread deleted and posted again).
    Raises a SlackDeliveryError subclass; its str() is one line ending with the fix.
    """
    steps = plan(message, read_file)
    report_date = message.report_date.isoformat()
    digest = message_digest(message)
    claim = ledger.claim(
        report_date, settings.channel, owner=owner or default_owner(), force=force, digest=digest, update=update
    )
    record = claim.record
    if claim.already_posted:
        logger.info("slack: %s already in %s (ts %s); nothing sent", report_date, settings.channel, record.summary_ts)
        return DeliveryResult(
            "already_posted", report_date, settings.channel, record.summary_ts, record.run, (), (), claim.changed
        )
    if claim.resumed and record.message_digest and record.message_digest != digest:
        logger.info("slack: message.json changed since the interrupted run began; finishing with the new one")

    posting = _Posting(SlackSession(client or make_client(settings), settings), ledger, record)
    try:
        posting.session.auth_test()
        if record.pending:
            posting.reconcile(steps)
        posting.run(steps[0])  # the summary: posted, or edited in place by an update
        posting.drop_stale()  # an update's old thread goes before the new one is posted
        for step in steps[1:]:
            posting.run(step)
        record.pending = None
        ledger.complete(record)
    except SlackDeliveryError as exc:
        logger.info("slack: delivery of %s stopped after %d step(s): %s", report_date, len(posting.posted), exc)
        _release(ledger, record)
        raise
    except BaseException:
        _release(ledger, record)
        raise
    status: Literal["posted", "resumed", "updated"] = (
        "updated" if record.revision and "summary" in posting.posted else "resumed" if posting.skipped else "posted"
    )
    return DeliveryResult(
        status, report_date, settings.channel, record.summary_ts, record.run,
        tuple(posting.posted), tuple(posting.skipped),
    )


class _Posting:
    """The steps of one delivery against the ledger record: intent, call, result."""

    def __init__(self, session: SlackSession, ledger: Ledger, record: DeliveryRecord):
        self.session, self.ledger, self.record = session, ledger, record
        self.posted: list[str] = []
        self.skipped: list[str] = []

    def run(self, step: Step) -> None:
        record = self.record
        if step.key in record.done:
            self.skipped.append(step.key)
            return
        if step.kind == "summary" and record.summary_ts and record.revision:
            # An update: edit the summary in place (chat.update is idempotent: no intent needed).
            self.session.update(record.summary_ts, step, _metadata(record, step.key))
            self._done(step, record.summary_ts)
            self.posted.append(step.key)
            return
        for attempt in range(1, STEP_ATTEMPTS + 1):
            record.pending = step.key
            self.ledger.save(record)  # the intent, on record before Slack hears of it
            try:
                result = self.session.post(step, record.summary_ts if step.kind != "summary" else None,
                                           _metadata(record, step.key))
            except SlackTransientError as exc:
                if exc.code != NO_ANSWER or attempt == STEP_ATTEMPTS:
                    raise
                # The answer was lost; Slack may have taken the post. Look before posting again.
                logger.info("slack: %s: %s; checking the channel before trying again", step.key, exc)
                time.sleep(0.2 * attempt)
                if self.reconcile([step]):
                    self.skipped.append(step.key)  # Slack had taken it: adopted, not repeated
                    return
                continue
            self._done(step, result)
            self.posted.append(step.key)
            logger.info("slack: %s %s posted in %s (%s)", record.report_date, step.key, record.channel, step.kind)
            return

    def _done(self, step: Step, result: str) -> None:
        self.record.done[step.key] = result
        self.record.pending = None
        if step.kind == "summary":
            self.record.summary_ts = result
        self.ledger.save(self.record)

    def reconcile(self, steps: list[Step]) -> bool:
        """Adopt the steps of `steps` already in the channel; True when all of them were."""
        record = self.record
        missing = [s for s in steps if s.key not in record.done]
        if not record.summary_ts and any(s.kind == "summary" for s in missing):
            ts = self._find_summary()
            if ts is None:
                return False  # no summary: nothing of this posting can be in the channel
            record.summary_ts = record.done["summary"] = ts
        if record.summary_ts and any(s.kind != "summary" for s in missing):
            found = self._find_in_thread(record.summary_ts)
            for step in missing:
                hit = found.get(step.filename if step.kind == "file" else step.key)
                if step.kind != "summary" and hit:
                    record.done[step.key] = hit
        record.pending = None
        self.ledger.save(record)
        return all(s.key in record.done for s in steps)

    def _ours(self, message: dict[str, Any]) -> str | None:
        """The part of this posting (run and revision) that `message` is, if any."""
        meta = message.get("metadata") or {}
        payload = meta.get("event_payload") or {}
        if meta.get("event_type") != EVENT_TYPE or payload.get("report_date") != self.record.report_date:
            return None
        if payload.get("run") != self.record.run or payload.get("revision") != self.record.revision:
            return None
        return str(payload.get("part") or "") or None

    def _find_summary(self) -> str | None:
        started = self.record.started_at
        since = dt.datetime.fromisoformat(started).timestamp() - 600 if started else 0.0
        for message in self.session.history(since):
            top_level = message.get("thread_ts") in (None, message.get("ts"))
            if top_level and self._ours(message) == "summary":
                return str(message["ts"])
        return None

    def _find_in_thread(self, thread_ts: str) -> dict[str, str]:
        """Step key (replies) or file name (charts) -> ts or file ID, for what the thread holds."""
        found: dict[str, str] = {}
        for message in self.session.replies(thread_ts):
            if message.get("ts") == thread_ts:
                continue
            part = self._ours(message)
            if part:
                found[part] = str(message["ts"])
            for file in message.get("files") or []:
                if file.get("name") and file.get("id"):
                    found[str(file["name"])] = str(file["id"])
        return found

    def drop_stale(self) -> None:
        """After an update: delete the replaced thread's items, recording each deletion."""
        for key, item in list(self.record.stale.items()):
            self.session.remove(item)
            del self.record.stale[key]
            self.ledger.save(self.record)


def _release(ledger: Ledger, record: DeliveryRecord) -> None:
    try:
        ledger.release(record)
    except Exception as exc:  # the original failure matters more; the lease expires anyway
        logger.warning("slack: could not release the ledger lease for %s: %s", record.key, type(exc).__name__)
