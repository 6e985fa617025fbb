"""The delivery ledger's rules, on both stores: a JSON file locally, DynamoDB (moto) in AWS."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from flowdigest.slack.errors import DeliveryInProgressError, SlackConfigError
from flowdigest.slack.ledger import (
    COMPLETE,
    DeliveryRecord,
    DynamoDBLedger,
    FileLedger,
    Ledger,
    LedgerConflict,
    default_local_ledger_dir,
    default_owner,
)

DAY, CHANNEL = "2024-05-01", "C0FLOWDIGEST"
TABLE = "flowdigest-slack-ledger"


class Clock:
    def __init__(self) -> None:
        self.now = 1_714_600_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def aws(fake_aws_env: None) -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield client


@pytest.fixture(params=["file", "dynamodb"])
def make_ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    """A factory of ledgers sharing one store and one clock (several ledgers = several processes)."""
    clock = Clock()
    if request.param == "file":

        def make() -> Ledger:
            return FileLedger(tmp_path / "ledger", clock=clock, lease_seconds=60)

    else:
        client = request.getfixturevalue("aws")

        def make() -> Ledger:
            return DynamoDBLedger(TABLE, client=client, clock=clock, lease_seconds=60)

    make.clock = clock  # type: ignore[attr-defined]
    return make


def test_a_first_claim_creates_the_record(make_ledger):
    claim = make_ledger().claim(DAY, CHANNEL, owner="a", digest="d1")
    assert not claim.already_posted and not claim.resumed
    stored = make_ledger().load(DAY, CHANNEL)
    assert stored is not None and stored.owner == "a" and stored.version == 1 and stored.message_digest == "d1"


def test_progress_is_kept_and_a_complete_day_is_not_claimed_again(make_ledger):
    ledger = make_ledger()
    record = ledger.claim(DAY, CHANNEL, owner="a").record
    record.summary_ts, record.done["summary"] = "1.1", "1.1"
    ledger.save(record)
    assert make_ledger().load(DAY, CHANNEL).done == {"summary": "1.1"}
    ledger.complete(record)

    again = make_ledger().claim(DAY, CHANNEL, owner="b")
    assert again.already_posted and again.record.status == COMPLETE and again.record.summary_ts == "1.1"


def test_force_starts_a_new_run_over_a_complete_record(make_ledger):
    ledger = make_ledger()
    record = ledger.claim(DAY, CHANNEL, owner="a").record
    record.summary_ts, record.done["summary"] = "1.1", "1.1"
    ledger.complete(record)

    claim = make_ledger().claim(DAY, CHANNEL, owner="b", force=True)
    assert not claim.already_posted and not claim.resumed
    assert claim.record.run == 2 and claim.record.done == {} and claim.record.summary_ts is None
    assert claim.record.earlier_runs == [{"run": 1, "summary_ts": "1.1", "completed_at": record.completed_at}]


def test_a_forced_posting_is_not_repeated_by_its_own_retry(make_ledger):
    ledger = make_ledger()
    ledger.complete(ledger.claim(DAY, CHANNEL, owner="exec-1").record)
    forced = make_ledger().claim(DAY, CHANNEL, owner="exec-2", force=True).record
    forced.done["summary"] = forced.summary_ts = "2.2"
    make_ledger().save(forced)

    # exec-2's task is retried mid-way (force still in its input): it resumes...
    retry = make_ledger().claim(DAY, CHANNEL, owner="exec-2", force=True)
    assert retry.resumed and retry.record.run == 2 and retry.record.done == {"summary": "2.2"}
    make_ledger().complete(retry.record)
    # ...and once done, a further retry posts nothing.
    assert make_ledger().claim(DAY, CHANNEL, owner="exec-2", force=True).already_posted
    # A new invocation that asks to force does post again.
    assert make_ledger().claim(DAY, CHANNEL, owner="exec-3", force=True).record.run == 3


def test_force_by_a_new_invocation_restarts_an_unfinished_posting(make_ledger):
    ledger = make_ledger()
    record = ledger.claim(DAY, CHANNEL, owner="a").record
    record.done["summary"] = record.summary_ts = "1.1"
    ledger.save(record)
    ledger.release(record)

    claim = make_ledger().claim(DAY, CHANNEL, owner="b", force=True)
    assert not claim.resumed and claim.record.run == 2 and claim.record.done == {}
    assert claim.record.earlier_runs[0]["summary_ts"] == "1.1"
    # Without force, an unfinished posting is resumed by anyone once the lease is free.
    plain = make_ledger()
    rec = plain.claim("2024-05-02", CHANNEL, owner="a").record
    rec.done["summary"] = rec.summary_ts = "3.3"
    plain.save(rec)
    plain.release(rec)
    assert make_ledger().claim("2024-05-02", CHANNEL, owner="b").resumed


def test_a_live_lease_keeps_other_owners_out_until_it_expires(make_ledger):
    ledger = make_ledger()
    record = ledger.claim(DAY, CHANNEL, owner="exec-1").record
    record.done["summary"] = record.summary_ts = "1.1"
    ledger.save(record)  # and then the process dies

    with pytest.raises(DeliveryInProgressError) as caught:
        make_ledger().claim(DAY, CHANNEL, owner="exec-2")
    assert "exec-1" in str(caught.value)

    same = make_ledger().claim(DAY, CHANNEL, owner="exec-1")  # the same execution retried
    assert same.resumed and same.record.done == {"summary": "1.1"}

    make_ledger.clock.now += 61
    taken = make_ledger().claim(DAY, CHANNEL, owner="exec-2")
    assert taken.resumed and taken.record.owner == "exec-2"


def test_a_released_lease_lets_anyone_resume_at_once(make_ledger):
    ledger = make_ledger()
    record = ledger.claim(DAY, CHANNEL, owner="a").record
    ledger.release(record)
    assert make_ledger().claim(DAY, CHANNEL, owner="b").record.owner == "b"


def test_a_run_whose_lease_was_taken_over_cannot_write(make_ledger):
    slow = make_ledger()
    record = slow.claim(DAY, CHANNEL, owner="slow").record
    make_ledger.clock.now += 61
    make_ledger().claim(DAY, CHANNEL, owner="fast")

    record.done["summary"] = "1.1"
    with pytest.raises(DeliveryInProgressError):
        slow.save(record)
    assert make_ledger().load(DAY, CHANNEL).owner == "fast"


def test_writes_are_compare_and_swap(make_ledger):
    ledger = make_ledger()
    ledger._put(DeliveryRecord(DAY, CHANNEL, version=1), expected_version=None)
    with pytest.raises(LedgerConflict):
        ledger._put(DeliveryRecord(DAY, CHANNEL, version=1), expected_version=None)
    with pytest.raises(LedgerConflict):
        ledger._put(DeliveryRecord(DAY, CHANNEL, version=3), expected_version=2)
    ledger._put(DeliveryRecord(DAY, CHANNEL, version=2), expected_version=1)
    assert ledger.load(DAY, CHANNEL).version == 2


def test_records_are_per_day_and_channel(make_ledger):
    ledger = make_ledger()
    ledger.complete(ledger.claim(DAY, CHANNEL, owner="a").record)
    assert not make_ledger().claim(DAY, "C0OTHERCHAN", owner="a").already_posted
    assert not make_ledger().claim("2024-05-02", CHANNEL, owner="a").already_posted


def test_the_dynamodb_item_is_readable_in_the_console(aws):
    ledger = DynamoDBLedger(TABLE, client=aws, retention_days=30)
    record = ledger.claim(DAY, CHANNEL, owner="a").record
    record.summary_ts = "1.1"
    ledger.complete(record)
    item = aws.get_item(TableName=TABLE, Key={"pk": {"S": f"{DAY}#{CHANNEL}"}})["Item"]
    assert item["status"]["S"] == "complete" and item["summary_ts"]["S"] == "1.1"
    assert item["report_date"]["S"] == DAY and int(item["expires_at"]["N"]) > 0


def test_a_missing_table_is_a_config_error(aws):
    with pytest.raises(SlackConfigError) as caught:
        DynamoDBLedger("no-such-table", client=aws).claim(DAY, CHANNEL, owner="a")
    assert "no-such-table" in str(caught.value) and "ResourceNotFoundException" in str(caught.value)


def test_an_unreadable_record_file_is_a_config_error(tmp_path):
    ledger = FileLedger(tmp_path)
    ledger.path(DAY, CHANNEL).write_text("{not json")
    with pytest.raises(SlackConfigError) as caught:
        ledger.claim(DAY, CHANNEL, owner="a")
    assert "delete the file" in str(caught.value)


def test_the_local_ledger_lives_outside_the_report_folder(tmp_path):
    assert default_local_ledger_dir({"FLOWDIGEST_STATE_DIR": str(tmp_path)}) == tmp_path / "slack-ledger"
    assert default_local_ledger_dir({"XDG_STATE_HOME": str(tmp_path)}) == tmp_path / "flowdigest" / "slack-ledger"
    assert default_local_ledger_dir({}).parts[-3:] == ("state", "flowdigest", "slack-ledger")


def test_a_local_run_that_died_does_not_block_the_next_one(tmp_path):
    import socket
    import subprocess
    import sys

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_owner = f"local:{socket.gethostname()}:{gone.stdout.strip()}"
    ledger = FileLedger(tmp_path)
    record = ledger.claim(DAY, CHANNEL, owner=dead_owner).record
    record.done["summary"] = record.summary_ts = "1.1"
    ledger.save(record)  # and the process was killed: the lease is still live

    claim = FileLedger(tmp_path).claim(DAY, CHANNEL, owner=default_owner())
    assert claim.resumed and claim.record.done == {"summary": "1.1"}

    # A live local process (this one) is respected like any other owner.
    with pytest.raises(DeliveryInProgressError):
        FileLedger(tmp_path).claim(DAY, CHANNEL, owner="local:elsewhere:1")
