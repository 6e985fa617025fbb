"""Plain-text flow logs, parsed into Arrow tables with AWS's Parquet column names and types.

What AWS's text delivery (and what people do with it) looks like:
- one record per line, fields separated by one space, `-` for a field with no value;
- a header line naming the fields in the flow log's format order (S3 delivery writes one
  per file; concatenated files repeat it mid-file; CloudWatch exports have none);
- NODATA / SKIPDATA records with `-` nearly everywhere;
- optionally wrapped in JSON, one `{"message": "<record>"}` per line (CloudWatch / Firehose),
  or CloudWatch subscription batches `{"logEvents": [{"message": ...}, ...]}`.

Two paths: a fast one (Arrow's C++ CSV reader, multi-threaded) for the regular case, and a
line-by-line one that handles every oddity and is the one that writes the error messages,
so a fast-path failure just means "look again, slowly".
"""

from __future__ import annotations

import codecs
import functools
import gzip
import json
import re
import zlib
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from flowdigest import fields
from flowdigest.sources.errors import FlowLogError, show

TEXT_SUFFIXES = (".log", ".log.gz")  # what AWS writes; .txt notes beside them stay unread

_GZIP_MAGIC = b"\x1f\x8b"
_INT = re.compile(r"-?\d+")
@functools.cache
def _field_names() -> pa.Array:
    # built on first use: pa.array() on a list imports pandas, ~35 MiB a process needs no more
    return pa.array(list(fields.BY_NAME))
_INT_RANGE = {pa.int32(): 2**31, pa.int64(): 2**63}
# Arrow's threaded CSV parse costs about 2 ms to start: a minute's file of a few records
# parses faster on the calling thread (load_day already reads files in parallel)
_THREADED_PARSE = 1 << 20
COUNTERS = ("packets", "bytes")  # counts: a negative one is damage, not traffic


def parse_format(spec: str | Sequence[str], source: str = "log format", where: str = "") -> tuple[str, ...]:
    """fields.parse_format, failing with a FlowLogError that names `source` (and `where`)."""
    try:
        return fields.parse_format(spec)
    except fields.FormatError as e:
        raise FlowLogError(source, f"{where}{e}") from None


def header_names(tokens: list[str]) -> list[str] | None:
    """The tokens, if this line is a header rather than a record.

    Every token must look like a field name and at least half must be known ones: record
    values never are field names, while a header with a typo still counts as a header
    (and then fails naming the unknown field, instead of as a "bad value").
    """
    names = [fields.token_name(t) for t in tokens]
    if None in names:
        return None
    known = sum(n in fields.BY_NAME for n in names)
    return tokens if known * 2 >= len(tokens) else None


def read_text_bytes(path: Path) -> bytes:
    """The file's text bytes, gunzipped when gzip; corrupt or truncated gzip is a FlowLogError."""
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise FlowLogError(path, f"cannot read: {e.strerror or e}") from e
    if not raw:
        raise FlowLogError(path, "empty file (0 bytes)")
    if raw[:2] == _GZIP_MAGIC:
        try:
            return gzip.decompress(raw)  # handles multi-member files (concatenated .gz)
        except EOFError as e:
            raise FlowLogError(path, "truncated gzip file: the compressed data ends early") from e
        except (gzip.BadGzipFile, zlib.error, OSError) as e:
            raise FlowLogError(path, f"corrupt gzip file: {e}") from e
    if path.name.endswith(".gz"):
        raise FlowLogError(path, "not gzip data, although the name ends in .gz")
    return raw


def read_text_file(path: Path, *, log_format: str | Sequence[str] | None = None) -> pa.Table:
    """Parse one text flow-log file (`.log`, `.log.gz`, ...) into an AWS-typed table."""
    return parse_text(read_text_bytes(path), str(path), log_format=log_format)


def parse_text(
    data: bytes | str, source: str, *, log_format: str | Sequence[str] | None = None
) -> pa.Table:
    """Parse flow-log text into a table with AWS's Parquet column names and types.

    `log_format` (field names) is used for lines before any header; without it a file with
    no header must be in the default v2 format (14 fields). `source` names the file in errors.
    """
    if isinstance(data, str):
        data = data.encode()
    if data.startswith(codecs.BOM_UTF8):  # files saved by Windows editors
        data = data[len(codecs.BOM_UTF8) :]
    if log_format is not None:
        log_format = parse_format(log_format, source)
    if re.match(rb"\s*\{", data):
        messages = list(_json_messages(data, source))
        table = _parse_fast("\n".join(m for _, m in messages).encode(), log_format)
        return table if table is not None else _parse_lines(messages, source, log_format)
    table = _parse_fast(data, log_format)
    if table is None:
        table = _parse_lines(_text_lines(data, source), source, log_format)
    return table


def parse_lines(
    lines: Iterable[str], source: str, *, log_format: str | Sequence[str] | None = None
) -> pa.Table:
    """Parse records given as strings (e.g. samples from a test file), line numbers from 1."""
    fmt = parse_format(log_format, source) if log_format is not None else None
    return _parse_lines(enumerate(lines, 1), source, fmt)


def first_line(data: bytes) -> tuple[int, bytes, list[str]] | None:
    """(offset of its newline or -1, the first line, its tokens); None if it is not UTF-8."""
    nl = data.find(b"\n")
    first = (data[:nl] if nl >= 0 else data).rstrip(b"\r")
    try:
        return nl, first, first.decode().split()
    except UnicodeDecodeError:
        return None


def _parse_fast(data: bytes, log_format: Sequence[str] | None) -> pa.Table | None:
    """Arrow's CSV reader on the regular case; None means "use the careful path"."""
    line = first_line(data)
    if line is None:
        return None
    nl, first, tokens = line
    header = header_names(tokens) if tokens else None
    if header is not None:
        names = tuple(fields.token_name(t) or "" for t in header)
        if not all(n in fields.BY_NAME for n in names):
            return None  # the careful path names the unknown field
        body = data[nl + 1 :] if nl >= 0 else b""
        if first in body:  # the same header repeated (concatenated files): drop the copies
            body = (b"\n" + body).replace(b"\n" + first + b"\n", b"\n")[1:]
            if first in body:
                return None
    elif log_format is not None:
        names, body = tuple(log_format), data
    elif len(tokens) == len(fields.DEFAULT_FORMAT):
        names, body = fields.DEFAULT_FORMAT, data
    else:
        return None
    if len(set(names)) != len(names):
        return None
    columns = [fields.BY_NAME[n].column for n in names]
    schema = fields.schema(columns)
    if not body.strip():
        return schema.empty_table()
    try:
        table = pacsv.read_csv(
            pa.BufferReader(body),
            read_options=pacsv.ReadOptions(column_names=columns, use_threads=len(body) > _THREADED_PARSE),
            parse_options=pacsv.ParseOptions(
                delimiter=" ", quote_char=False, escape_char=False, ignore_empty_lines=True
            ),
            convert_options=pacsv.ConvertOptions(
                column_types=schema, null_values=["-"], strings_can_be_null=True
            ),
        )
    except (pa.ArrowException, UnicodeDecodeError):
        return None
    # A different header mid-file whose fields are all strings would pass as a record.
    col0 = table.column(0)
    names_in_data = pa.types.is_string(col0.type) and pc.any(pc.is_in(col0, _field_names())).as_py()
    if names_in_data or _any_negative(table):
        return None  # the careful path names the line
    return table.cast(schema)


def _any_negative(table: pa.Table) -> bool:
    return any(
        c in table.column_names and (pc.min(table.column(c)).as_py() or 0) < 0 for c in COUNTERS
    )


def _text_lines(data: bytes, source: str) -> Iterator[tuple[int, str]]:
    try:
        text = data.decode()
    except UnicodeDecodeError as e:
        at = data[: e.start].count(b"\n") + 1
        raise FlowLogError(source, f"line {at}: not UTF-8 text (is this a flow-log file?)") from e
    yield from enumerate(text.split("\n"), 1)


def _json_messages(data: bytes, source: str) -> Iterator[tuple[int, str]]:
    """Records from CloudWatch/Firehose JSON: `{"message": ...}` or `{"logEvents": [...]}` per line."""
    for i, line in _text_lines(data, source):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise FlowLogError(source, f"line {i}: not valid JSON ({e.msg})") from e
        events = obj.get("logEvents") if isinstance(obj, dict) else None
        if isinstance(obj, dict) and isinstance(obj.get("message"), str):
            yield i, obj["message"]
        elif isinstance(events, list):
            if obj.get("messageType") == "CONTROL_MESSAGE":  # CloudWatch's connectivity probe
                continue
            for ev in events:
                if not (isinstance(ev, dict) and isinstance(ev.get("message"), str)):
                    raise FlowLogError(source, f"line {i}: a logEvents entry without a \"message\" string")
                yield i, ev["message"]
        else:
            raise FlowLogError(source, f"line {i}: JSON without a \"message\" string (or \"logEvents\")")


def _parse_lines(lines: Iterable[tuple[int, str]], source: str, log_format: Sequence[str] | None) -> pa.Table:
    names: tuple[str, ...] | None = tuple(log_format) if log_format is not None else None
    origin = "the given format"
    segments: list[tuple[tuple[str, ...], list[list[str]], list[int]]] = []
    rows: list[list[str]] = []
    linenos: list[int] = []
    for lineno, line in lines:
        tokens = line.split()  # any run of whitespace: tolerates doubled spaces and \r
        if not tokens:
            continue
        header = header_names(tokens) if tokens[0][0] in "$abcdefghijklmnopqrstuvwxyz" else None
        if header is not None:
            new = parse_format(header, source, f"line {lineno}: ")
            if new != names:
                if names is not None:
                    segments.append((names, rows, linenos))
                names, rows, linenos = new, [], []
                origin = f"the header (line {lineno})"
            continue
        if names is None:
            if len(tokens) != len(fields.DEFAULT_FORMAT):
                raise FlowLogError(
                    source,
                    f"line {lineno}: no header line, and {len(tokens)} values per record is not the "
                    f"default format's {len(fields.DEFAULT_FORMAT)}; give the flow log's format "
                    "(its ${field} list) or add it as the first line",
                )
            names, origin = fields.DEFAULT_FORMAT, "the default v2 format"
        if len(tokens) != len(names):
            raise FlowLogError(
                source, f"line {lineno}: {len(tokens)} values, but {origin} has {len(names)} fields"
            )
        rows.append(tokens)
        linenos.append(lineno)
    if names is not None:
        segments.append((names, rows, linenos))
    if not segments:
        return pa.table({})
    # A header with no records after it adds no columns, unless it is all there is.
    filled = [s for s in segments if s[1]] or segments[-1:]
    tables = [_to_table(n, r, ln, source) for n, r, ln in filled]
    return tables[0] if len(tables) == 1 else pa.concat_tables(tables, promote_options="default")


def _to_table(names: tuple[str, ...], rows: list[list[str]], linenos: list[int], source: str) -> pa.Table:
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in names]
    arrays = []
    for name, values in zip(names, columns, strict=True):
        target = fields.BY_NAME[name].type
        arr = pa.array(values, pa.string())
        arr = pc.if_else(pc.equal(arr, "-"), pa.scalar(None, pa.string()), arr)
        if target != pa.string():
            try:
                arr = pc.cast(arr, target)
            except pa.ArrowException as e:
                raise _bad_value(name, target, values, linenos, source, e) from e
        if name in COUNTERS and (pc.min(arr).as_py() or 0) < 0:
            at = pc.index(pc.less(arr, 0), True).as_py()
            raise FlowLogError(source, f"line {linenos[at]}: field {name}: {show(values[at])} is negative "
                               "(a count of traffic cannot be)")
        arrays.append(arr)
    return pa.Table.from_arrays(arrays, schema=fields.schema([fields.BY_NAME[n].column for n in names]))


def _bad_value(
    name: str, target: pa.DataType, values: Sequence[str], linenos: list[int], source: str, err: Exception
) -> FlowLogError:
    limit = _INT_RANGE.get(target, 2**63)
    for v, lineno in zip(values, linenos, strict=True):
        if v == "-":
            continue
        if not _INT.fullmatch(v):
            return FlowLogError(source, f"line {lineno}: field {name}: {show(v)} is not a whole number")
        if not -limit <= int(v) < limit:
            return FlowLogError(
                source, f"line {lineno}: field {name}: {show(v)} is out of range for {target}"
            )
    return FlowLogError(source, f"field {name}: {err}")


def format_text(table: pa.Table, *, header: bool = True) -> bytes:
    """Records as AWS's text delivery writes them: header line, one space, `-` for NULL.

    The inverse of parse_text, for building text-format days from Parquet (tests, benchmarks).
    """
    names = [fields.BY_COLUMN[c].name for c in table.column_names]
    as_text = pa.table(
        {c: pc.fill_null(pc.cast(table.column(c), pa.string()), "-") for c in table.column_names}
    )
    out = pa.BufferOutputStream()
    if header:
        out.write((" ".join(names) + "\n").encode())
    if table.num_rows:
        options = pacsv.WriteOptions(include_header=False, delimiter=" ", quoting_style="none")
        pacsv.write_csv(as_text, out, options)
    return out.getvalue().to_pybytes()
