"""Plain-text flow logs: headers, NULLs, odd layouts, and one-line errors naming file and line."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from pathlib import Path

import pyarrow as pa
import pytest

from flowdigest import fields
from flowdigest.sources import FlowLogError, missing_hours_text, parse_format, parse_text, read_text_file
from flowdigest.sources import text as text_mod

V2_HEADER = " ".join(fields.DEFAULT_FORMAT)
REC = ("2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 "
       "1418530010 1418530070 ACCEPT OK")
NODATA = "2 123456789010 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA"


def one_line_error(exc: pytest.ExceptionInfo[FlowLogError]) -> str:
    msg = str(exc.value)
    assert "\n" not in msg
    return msg


def test_header_any_order_gives_aws_names_and_types() -> None:
    t = parse_text("srcaddr bytes action dstport\n10.0.0.1 123 ACCEPT 443\n", "f.log")
    assert t.schema == fields.schema(["srcaddr", "bytes", "action", "dstport"])
    assert t.to_pylist() == [{"srcaddr": "10.0.0.1", "bytes": 123, "action": "ACCEPT", "dstport": 443}]


def test_header_as_format_string_or_parquet_names() -> None:
    for header in ("${srcaddr} ${log-status}", "srcaddr log_status"):
        t = parse_text(f"{header}\n10.0.0.1 OK\n", "f.log")
        assert t.column_names == ["srcaddr", "log_status"]


def test_dash_is_null_for_every_type() -> None:
    t = parse_text(f"{V2_HEADER}\n{NODATA}\n", "f.log")
    r = t.to_pylist()[0]
    assert r["srcaddr"] is None and r["srcport"] is None and r["bytes"] is None and r["action"] is None
    assert r["start"] == 1431280876 and r["log_status"] == "NODATA"


def test_no_header_means_v2_default_when_14_fields() -> None:
    t = parse_text(f"{REC}\n{NODATA}\n", "f.log")
    assert t.schema == fields.schema([fields.BY_NAME[n].column for n in fields.DEFAULT_FORMAT])
    assert t.num_rows == 2


def test_no_header_and_not_14_fields_is_a_clear_error() -> None:
    with pytest.raises(FlowLogError) as e:
        parse_text("a b c 1 2\n", "x/f.log")
    assert one_line_error(e).startswith("x/f.log: line 1: no header line, and 5 values per record")


def test_no_header_with_a_given_format() -> None:
    t = parse_text("10.0.0.1 443\n", "f.log", log_format="${srcaddr} ${dstport}")
    assert t.to_pylist() == [{"srcaddr": "10.0.0.1", "dstport": 443}]


def test_unknown_header_field_names_field_and_file() -> None:
    with pytest.raises(FlowLogError) as e:
        parse_text("verson account-id srcaddr\n2 1 10.0.0.1\n", "logs/a.log.gz")
    msg = one_line_error(e)
    assert msg.startswith("logs/a.log.gz: line 1: unknown field 'verson'")
    assert "did you mean 'version'" in msg


def test_repeated_field_in_header() -> None:
    with pytest.raises(FlowLogError, match="field 'srcaddr' appears twice"):
        parse_text("srcaddr srcaddr\n1 2\n", "f.log")


@pytest.mark.parametrize(("value", "field", "problem"), [
    ("abc", "bytes", "'abc' is not a whole number"),
    ("12.5", "packets", "'12.5' is not a whole number"),
    ("99999999999", "srcport", "'99999999999' is out of range for int32"),
])
def test_bad_value_names_file_line_field_value(value: str, field: str, problem: str) -> None:
    idx = fields.DEFAULT_FORMAT.index(field)
    bad = REC.split()
    bad[idx] = value
    data = f"{V2_HEADER}\n{REC}\n\n{' '.join(bad)}\n"  # the blank line still counts as a line
    with pytest.raises(FlowLogError) as e:
        parse_text(data, "d/f.log")
    assert one_line_error(e) == f"d/f.log: line 4: field {field}: {problem}"


def test_wrong_number_of_values() -> None:
    with pytest.raises(FlowLogError) as e:
        parse_text(f"{V2_HEADER}\n{REC}\n{REC} extra\n", "f.log")
    assert one_line_error(e) == "f.log: line 3: 15 values, but the header (line 1) has 14 fields"


def test_repeated_header_mid_file_fast_path() -> None:
    data = f"{V2_HEADER}\n{REC}\n{V2_HEADER}\n{NODATA}\n{V2_HEADER}\n{V2_HEADER}\n{REC}\n"
    t = parse_text(data, "f.log")
    assert [r["log_status"] for r in t.to_pylist()] == ["OK", "NODATA", "OK"]


def test_a_different_header_mid_file_switches_format() -> None:
    data = "srcaddr bytes\n10.0.0.1 5\nsrcaddr dstaddr action\n10.0.0.2 10.0.0.3 REJECT\n"
    t = parse_text(data, "f.log")
    assert t.column_names == ["srcaddr", "bytes", "dstaddr", "action"]
    assert t.to_pylist() == [
        {"srcaddr": "10.0.0.1", "bytes": 5, "dstaddr": None, "action": None},
        {"srcaddr": "10.0.0.2", "bytes": None, "dstaddr": "10.0.0.3", "action": "REJECT"},
    ]


def test_all_string_format_with_a_different_header_is_not_taken_as_a_record() -> None:
    data = "srcaddr dstaddr\n10.0.0.1 10.0.0.2\nsrcaddr action\n10.0.0.3 ACCEPT\n"
    t = parse_text(data, "f.log")
    assert t.num_rows == 2 and t.column("action").to_pylist() == [None, "ACCEPT"]


def test_header_only_file_has_columns_and_no_rows() -> None:
    t = parse_text(V2_HEADER + "\n", "f.log")
    assert t.num_rows == 0 and t.schema == fields.schema([fields.BY_NAME[n].column for n in fields.DEFAULT_FORMAT])


def test_crlf_doubled_spaces_and_tabs() -> None:
    data = "srcaddr  bytes\r\n10.0.0.1\t7 \r\n"
    assert parse_text(data, "f.log").to_pylist() == [{"srcaddr": "10.0.0.1", "bytes": 7}]


def test_byte_order_mark_is_skipped() -> None:
    assert parse_text(b"\xef\xbb\xbfsrcaddr bytes\n10.0.0.1 7\n", "f.log").column_names == ["srcaddr", "bytes"]


def test_ipv6_addresses_kept_as_written() -> None:
    t = parse_text("srcaddr dstaddr type\n2001:db8::1 fe80::1ff:fe23:4567:890a IPv6\n", "f.log")
    assert t.to_pylist()[0] == {"srcaddr": "2001:db8::1", "dstaddr": "fe80::1ff:fe23:4567:890a", "type": "IPv6"}


def test_fast_and_careful_paths_agree() -> None:
    data = (f"{V2_HEADER}\n{REC}\n{NODATA}\n" * 50).encode()
    fast = text_mod._parse_fast(data, None)
    careful = text_mod._parse_lines(text_mod._text_lines(data, "f"), "f", None)
    assert fast is not None and fast.equals(careful) and fast.num_rows == 100


def test_json_message_wrapper_and_cloudwatch_batches() -> None:
    lines = [json.dumps({"message": REC}), json.dumps({"message": NODATA, "timestamp": 1})]
    assert parse_text("\n".join(lines), "f.json").num_rows == 2
    batch = {"messageType": "DATA_MESSAGE", "logEvents": [{"id": "1", "message": REC}, {"id": "2", "message": NODATA}]}
    control = {"messageType": "CONTROL_MESSAGE", "logEvents": [{"id": "", "message": "CWL CONTROL MESSAGE"}]}
    t = parse_text(json.dumps(control) + "\n" + json.dumps(batch) + "\n", "f.json")
    assert [r["log_status"] for r in t.to_pylist()] == ["OK", "NODATA"]


def test_json_errors_name_the_line() -> None:
    with pytest.raises(FlowLogError, match=r"^f.json: line 2: not valid JSON"):
        parse_text(json.dumps({"message": REC}) + "\n{oops\n", "f.json")
    with pytest.raises(FlowLogError, match=r'^f.json: line 1: JSON without a "message" string'):
        parse_text(json.dumps({"msg": REC}) + "\n", "f.json")
    with pytest.raises(FlowLogError, match=r"^f.json: line 2: field bytes: 'x' is not a whole number"):
        bad = json.dumps({"message": REC.replace(" 4249 ", " x ")})
        parse_text(json.dumps({"message": REC}) + "\n" + bad, "f.json")


def test_not_utf8_names_the_line(tmp_path: Path) -> None:
    p = tmp_path / "f.log"
    p.write_bytes(f"{V2_HEADER}\n{REC}\n".encode() + b"\xff\xfe garbage\n")
    with pytest.raises(FlowLogError) as e:
        read_text_file(p)
    assert one_line_error(e) == f"{p}: line 3: not UTF-8 text (is this a flow-log file?)"


# -- gzip -----------------------------------------------------------------------------------

def test_gzip_and_concatenated_gzip_members(tmp_path: Path) -> None:
    p = tmp_path / "f.log.gz"
    member = gzip.compress(f"{V2_HEADER}\n{REC}\n".encode())
    p.write_bytes(member + member)  # `cat a.gz b.gz`: two members, header repeated
    assert read_text_file(p).num_rows == 2


def test_truncated_gzip(tmp_path: Path) -> None:
    p = tmp_path / "f.log.gz"
    whole = gzip.compress(f"{V2_HEADER}\n{REC}\n".encode() * 200)
    p.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(FlowLogError) as e:
        read_text_file(p)
    assert one_line_error(e) == f"{p}: truncated gzip file: the compressed data ends early"


def test_corrupt_gzip(tmp_path: Path) -> None:
    p = tmp_path / "f.log.gz"
    whole = bytearray(gzip.compress(f"{V2_HEADER}\n{REC}\n".encode() * 200))
    whole[-8:-4] = b"\0\0\0\0"  # the CRC
    p.write_bytes(bytes(whole))
    with pytest.raises(FlowLogError, match=r"f\.log\.gz: corrupt gzip file: "):
        read_text_file(p)


def test_zero_byte_and_not_gzip(tmp_path: Path) -> None:
    empty = tmp_path / "a.log.gz"
    empty.write_bytes(b"")
    with pytest.raises(FlowLogError, match=r"a\.log\.gz: empty file \(0 bytes\)$"):
        read_text_file(empty)
    plain = tmp_path / "b.log.gz"
    plain.write_text(f"{V2_HEADER}\n{REC}\n")
    with pytest.raises(FlowLogError, match=r"b\.log\.gz: not gzip data"):
        read_text_file(plain)


# -- formats, the writer, and missing hours --------------------------------------------------

def test_parse_format() -> None:
    assert parse_format("${version} ${srcaddr}") == ("version", "srcaddr")
    assert parse_format(["log_status"]) == ("log-status",)
    with pytest.raises(FlowLogError, match=r"^log_format: unknown field '\$\{srcadr\}' in the format"):
        parse_format("${srcadr}", "log_format")


def test_format_text_round_trips() -> None:
    t = parse_text(f"{V2_HEADER}\n{REC}\n{NODATA}\n", "f.log")
    written = text_mod.format_text(t)
    assert written.decode() == f"{V2_HEADER}\n{REC}\n{NODATA}\n"
    assert parse_text(written, "g.log").equals(t)
    empty = pa.table({"srcaddr": pa.array([], pa.string())})
    assert text_mod.format_text(empty) == b"srcaddr\n"


def test_missing_hours_text() -> None:
    day = dt.date(2024, 5, 1)
    assert missing_hours_text(day, range(24)) == ""
    assert missing_hours_text(day, set(range(24)) - {3, 4, 5, 17}) == "hours 03–05, 17 missing"
    assert missing_hours_text(day, set(range(24)) - {0}) == "hour 00 missing"
    assert missing_hours_text(day, {12}) == "hours 00–11, 13–23 missing"
    assert missing_hours_text(day, set()) == "no flow logs were delivered for 2024-05-01"
