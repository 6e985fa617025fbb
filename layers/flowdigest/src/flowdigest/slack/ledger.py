"""The delivery ledger: one record per (report date, channel) saying what was already posted.

It makes delivery idempotent and resumable. A run first *claims* the record (a lease
with an owner and an expiry), then saves it after every Slack call that succeeded (the
summary's ts, then each thread item), and finally marks it complete:

- a complete record means the day is posted: later runs post nothing, unless forced
  (then the forcing invocation posts the day once more, and its retries do not repeat it);
- an in-progress record is resumed: items already done are skipped, so a crash between
  the summary and the charts never yields a second summary;
- a live lease held by another owner stops a concurrent run for the same day.

Every write is a compare-and-swap on `version`, so two writers cannot both win. The
storage is a JSON file per record locally, and a DynamoDB item in AWS (conditional
writes). A crash after Slack accepted a post but before the save that records it is
covered by the intent: `pending` names the step in flight, and the next run looks for it
in the channel (poster.py) before posting it again.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import socket
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from flowdigest.slack.errors import DeliveryInProgressError, SlackConfigError, SlackTransientError

IN_PROGRESS = "in_progress"
COMPLETE = "complete"
LEASE_SECONDS = 900  # >= one step's worst case (Lambda's 15 minutes); renewed on every save


def record_key(report_date: str, channel: str) -> str:
    return f"{report_date}#{channel}"


def default_owner() -> str:
    """Who is posting, when the caller does not say: this process. (A local run killed
    mid-way does not block the next one: FileLedger sees that the process is gone.)"""
    return f"local:{socket.gethostname()}:{os.getpid()}"


def _local_process_gone(owner: str) -> bool:
    """True when `owner` is a default_owner() of this machine whose process has exited."""
    kind, _, rest = owner.partition(":")
    host, _, pid = rest.rpartition(":")
    if kind != "local" or host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return True
    except OSError:  # exists but is not ours (PermissionError), or the platform cannot tell
        return False
    return False


def _iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat(timespec="seconds")


class LedgerConflict(Exception):
    """Someone else wrote the record since we read it."""


@dataclass
class DeliveryRecord:
    report_date: str  # YYYY-MM-DD
    channel: str
    status: str = IN_PROGRESS
    run: int = 1  # bumped by --force: a deliberate second posting of the day
    owner: str = ""
    lease_expires: float = 0.0
    version: int = 0  # 0: never stored
    summary_ts: str | None = None
    done: dict[str, str] = field(default_factory=dict)  # step key -> message ts / file id
    message_digest: str | None = None  # of the message this run started posting
    forced_by: str | None = None  # the owner whose --force started this run
    started_at: str | None = None
    updated_at: str | None = None
    completed_at: str | None = None
    earlier_runs: list[dict[str, Any]] = field(default_factory=list)  # runs replaced by --force
    pending: str | None = None  # the step whose Slack call was started and not yet recorded
    revision: int = 0  # bumped by --update: the summary edited in place, the thread replaced
    stale: dict[str, str] = field(default_factory=dict)  # thread items an update still has to delete

    @property
    def key(self) -> str:
        return record_key(self.report_date, self.channel)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> DeliveryRecord:
        if not isinstance(data, dict):
            raise TypeError("not a JSON object")
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


@dataclass(frozen=True)
class Claim:
    record: DeliveryRecord
    already_posted: bool  # complete before this run: post nothing
    resumed: bool  # an earlier run of the same posting got part of the way
    changed: bool = False  # already posted, but with other content than this message


class Ledger(ABC):
    """Claim/save/complete logic over a store that can compare-and-swap one record."""

    def __init__(self, *, lease_seconds: float = LEASE_SECONDS, clock: Callable[[], float] = time.time):
        self.lease_seconds = lease_seconds
        self.clock = clock

    @abstractmethod
    def load(self, report_date: str, channel: str) -> DeliveryRecord | None:
        """The stored record, or None."""

    @abstractmethod
    def _put(self, record: DeliveryRecord, expected_version: int | None) -> None:
        """Store `record` if the stored version is `expected_version` (None: no record yet),
        else raise LedgerConflict."""

    def _commit(self, record: DeliveryRecord) -> None:
        expected = record.version or None
        record.version += 1
        record.updated_at = _iso(self.clock())
        try:
            self._put(record, expected)
        except LedgerConflict:
            record.version -= 1
            raise

    def claim(
        self,
        report_date: str,
        channel: str,
        *,
        owner: str,
        force: bool = False,
        digest: str | None = None,
        update: bool = False,
    ) -> Claim:
        """Take the day's record for this run.

        `owner` identifies one invocation and its retries (the Step Functions execution
        ARN; a process locally). A complete day is not posted again, unless `force`: then
        the owner starts one fresh posting, and its own retries resume or skip that posting
        instead of forcing yet another one. With `update`, a complete day whose content
        differs from `digest` is reopened to be edited in place (its thread becomes `stale`).
        """
        for _ in range(5):
            now = self.clock()
            record = self.load(report_date, channel)
            if record is None:
                record = DeliveryRecord(
                    report_date,
                    channel,
                    owner=owner,
                    lease_expires=now + self.lease_seconds,
                    started_at=_iso(now),
                    message_digest=digest,
                    forced_by=owner if force else None,
                )
                try:
                    self._commit(record)
                except LedgerConflict:
                    continue
                return Claim(record, already_posted=False, resumed=False)
            ours = record.owner == owner
            if record.status == IN_PROGRESS and not ours and self._lease_held(record, now):
                raise DeliveryInProgressError(
                    f"another run ({record.owner}) is posting {report_date} to {channel}",
                    hint=f"let it finish, or run again after its lease expires at {_iso(record.lease_expires)}",
                )
            retry_of_ours = ours and record.status == IN_PROGRESS
            if force and record.forced_by != owner and not retry_of_ours:
                self._restart(record, owner, now, digest)
            elif record.status == COMPLETE:
                changed = bool(digest and record.message_digest and record.message_digest != digest)
                if not (update and changed):
                    return Claim(record, already_posted=True, resumed=False, changed=changed)
                self._reopen(record, now, digest)
            resumed = bool(record.done)
            record.owner, record.lease_expires = owner, now + self.lease_seconds
            try:
                self._commit(record)
            except LedgerConflict:
                continue
            return Claim(record, already_posted=False, resumed=resumed)
        raise DeliveryInProgressError(
            f"the ledger record for {report_date} in {channel} keeps changing under this run",
            hint="another run is posting the same day: let it finish",
        )

    @staticmethod
    def _restart(record: DeliveryRecord, owner: str, now: float, digest: str | None) -> None:
        """A forced, fresh posting of the day; what earlier runs posted stays in Slack and on record."""
        if record.summary_ts:
            record.earlier_runs.append(
                {"run": record.run, "summary_ts": record.summary_ts, "completed_at": record.completed_at}
            )
        record.run += 1
        record.status, record.summary_ts, record.done, record.forced_by = IN_PROGRESS, None, {}, owner
        record.pending, record.revision, record.stale = None, 0, {}
        record.started_at, record.completed_at, record.message_digest = _iso(now), None, digest

    @staticmethod
    def _reopen(record: DeliveryRecord, now: float, digest: str | None) -> None:
        """An update of a posted day: same summary (edited), the old thread to be replaced."""
        record.stale.update({k: v for k, v in record.done.items() if k != "summary" and v})
        record.done, record.pending, record.revision = {}, None, record.revision + 1
        record.status, record.completed_at, record.message_digest = IN_PROGRESS, None, digest
        record.started_at = _iso(now)

    def _lease_held(self, record: DeliveryRecord, now: float) -> bool:
        return record.lease_expires > now

    def save(self, record: DeliveryRecord) -> None:
        """Persist progress after a step, renewing the lease."""
        record.lease_expires = self.clock() + self.lease_seconds
        self._commit_owned(record)

    def complete(self, record: DeliveryRecord) -> None:
        record.status, record.completed_at, record.lease_expires = COMPLETE, _iso(self.clock()), 0.0
        self._commit_owned(record)

    def release(self, record: DeliveryRecord) -> None:
        """Give up the lease after a handled failure, so a retry by anyone may resume at once."""
        record.lease_expires = 0.0
        with contextlib.suppress(LedgerConflict):
            self._commit(record)

    def _commit_owned(self, record: DeliveryRecord) -> None:
        try:
            self._commit(record)
        except LedgerConflict:
            raise DeliveryInProgressError(
                f"another run took over posting {record.report_date} to {record.channel}",
                hint="this run's lease expired mid-way; the other run finishes the posting",
            ) from None


# --- locally: one JSON file per record -------------------------------------------------------


def default_local_ledger_dir(environ: Mapping[str, str] | None = None) -> Path:
    """$FLOWDIGEST_STATE_DIR, else $XDG_STATE_HOME/flowdigest, else ~/.local/state/flowdigest;
    outside the report folder, so deleting out/ does not make a posted day post again."""
    env = os.environ if environ is None else environ
    if env.get("FLOWDIGEST_STATE_DIR"):
        base = Path(env["FLOWDIGEST_STATE_DIR"])
    else:
        base = Path(env.get("XDG_STATE_HOME") or Path.home() / ".local" / "state") / "flowdigest"
    return base / "slack-ledger"


class FileLedger(Ledger):
    """Records as `<folder>/<date>_<channel>.json`, replaced atomically under a lock file."""

    def __init__(self, folder: str | os.PathLike[str], **kwargs: Any):
        super().__init__(**kwargs)
        self.folder = Path(folder)

    def path(self, report_date: str, channel: str) -> Path:
        return self.folder / re.sub(r"[^A-Za-z0-9_.-]", "_", f"{report_date}_{channel}.json")

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            lock = open(self.folder / ".lock", "a")  # noqa: SIM115 (closed below)
        except OSError as exc:
            raise _unwritable(self.folder, exc) from None
        with lock:
            yield from self._flocked(lock)

    @staticmethod
    def _flocked(lock: Any) -> Iterator[None]:
        try:
            import fcntl
        except ImportError:  # Windows: no flock; the version check still catches most races
            yield
            return
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)

    def _lease_held(self, record: DeliveryRecord, now: float) -> bool:
        return super()._lease_held(record, now) and not _local_process_gone(record.owner)

    def load(self, report_date: str, channel: str) -> DeliveryRecord | None:
        path = self.path(report_date, channel)
        try:
            return DeliveryRecord.from_dict(json.loads(path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise _unwritable(self.folder, exc) from None
        except (ValueError, TypeError):
            raise SlackConfigError(
                f"the delivery record {path} is not a flowdigest delivery record",
                hint="check the channel for the day's digest; delete the file to post again",
            ) from None

    def _put(self, record: DeliveryRecord, expected_version: int | None) -> None:
        path = self.path(record.report_date, record.channel)
        with self._locked():
            current = self.load(record.report_date, record.channel)
            if (current.version if current else None) != expected_version:
                raise LedgerConflict(record.key)
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            try:
                with open(tmp, "w", encoding="utf-8") as f:
                    f.write(json.dumps(record.to_dict(), indent=2) + "\n")
                    f.flush()
                    os.fsync(f.fileno())  # the intent must be on disk before the Slack call
                os.replace(tmp, path)
            except OSError as exc:
                raise _unwritable(self.folder, exc) from None


def _unwritable(folder: Path, exc: OSError) -> SlackConfigError:
    return SlackConfigError(
        f"cannot write the delivery ledger in {folder} ({exc.strerror or type(exc).__name__})",
        hint="set FLOWDIGEST_STATE_DIR (or XDG_STATE_HOME) to a folder you can write",
    )


# --- in AWS: one DynamoDB item per record ----------------------------------------------------


class DynamoDBLedger(Ledger):
    """Items keyed by `pk` = "<date>#<channel>" (string hash key, no sort key).

    The record travels as JSON in `record`; `status`, `summary_ts` and friends are copied
    to top-level attributes for reading in the console. `expires_at` suits a table TTL.
    Needs dynamodb:GetItem and dynamodb:PutItem on the table.
    """

    def __init__(self, table_name: str, *, client: Any = None, retention_days: int = 400, **kwargs: Any):
        super().__init__(**kwargs)
        self.table_name = table_name
        self.retention_days = retention_days
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3

            self._client = boto3.client("dynamodb")
        return self._client

    def _call(self, operation: str, **kwargs: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return getattr(self.client, operation)(TableName=self.table_name, **kwargs)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code == "ConditionalCheckFailedException":
                raise LedgerConflict(self.table_name) from None
            if code in ("ResourceNotFoundException", "AccessDeniedException", "UnrecognizedClientException"):
                raise SlackConfigError(
                    f"the delivery ledger table {self.table_name!r} cannot be used ({code})",
                    hint="check the table exists in this region and the role may GetItem/PutItem on it",
                ) from None
            raise SlackTransientError(
                f"the delivery ledger table {self.table_name!r} failed ({code or 'error'})",
                hint="DynamoDB was unavailable or throttled; the retry resumes",
            ) from None
        except BotoCoreError as exc:
            raise SlackTransientError(
                f"the delivery ledger table {self.table_name!r} could not be reached ({type(exc).__name__})",
                hint="check network access to DynamoDB; the retry resumes",
            ) from None

    def load(self, report_date: str, channel: str) -> DeliveryRecord | None:
        key = record_key(report_date, channel)
        item = self._call("get_item", Key={"pk": {"S": key}}, ConsistentRead=True).get("Item")
        if not item:
            return None
        return DeliveryRecord.from_dict(json.loads(item["record"]["S"]))

    def _put(self, record: DeliveryRecord, expected_version: int | None) -> None:
        item: dict[str, Any] = {
            "pk": {"S": record.key},
            "version": {"N": str(record.version)},
            "report_date": {"S": record.report_date},
            "channel": {"S": record.channel},
            "status": {"S": record.status},
            "run": {"N": str(record.run)},
            "record": {"S": json.dumps(record.to_dict())},
            "expires_at": {"N": str(int(self.clock()) + self.retention_days * 86400)},
        }
        if record.summary_ts:
            item["summary_ts"] = {"S": record.summary_ts}
        if expected_version is None:
            condition: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(pk)"}
        else:
            condition = {
                "ConditionExpression": "#v = :v",
                "ExpressionAttributeNames": {"#v": "version"},
                "ExpressionAttributeValues": {":v": {"N": str(expected_version)}},
            }
        self._call("put_item", Item=item, **condition)
