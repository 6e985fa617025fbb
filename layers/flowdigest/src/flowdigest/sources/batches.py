"""Many small text files read as one: AWS can deliver a file per ENI per minute, and a day
of 1,440 files of a few records each must cost what one file of those records costs.

Files of one delivery hour whose first line is the same header (or that all have none)
are joined into one text and parsed once; the records are the same as file by file, as
every file of the group is read with the same field list. Anything odd (JSON, a blank
first line) is left to the file-by-file reader, which is also the one that names the
file and line of a bad record: a group that fails to parse is read again file by file.
"""

from __future__ import annotations

import codecs
import re

from flowdigest.sources.text import first_line, header_names


def batch_key(data: bytes) -> bytes | None:
    """The header line that files must share to be read together (b"" for no header), or
    None when the file is to be read alone."""
    if re.match(rb"\s*\{", data):
        return None  # CloudWatch/Firehose JSON
    line = first_line(data)
    if line is None or not line[2]:
        return None
    _, first, tokens = line
    return first if header_names(tokens) is not None else b""


def strip_bom(data: bytes) -> bytes:
    return data[len(codecs.BOM_UTF8):] if data.startswith(codecs.BOM_UTF8) else data


def join(key: bytes, texts: list[bytes]) -> bytes:
    """One text of the files' records, under their shared header line (if any)."""
    parts = [key + b"\n"] if key else []
    for data in texts:
        body = data.split(b"\n", 1)[1] if key and b"\n" in data else b"" if key else data
        parts.append(body if body.endswith(b"\n") or not body else body + b"\n")
    return b"".join(parts)
