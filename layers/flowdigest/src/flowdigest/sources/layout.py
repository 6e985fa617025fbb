"""Which files under a source folder belong to a day, and which hour each was delivered in.

Three layouts, told apart by folder names:
- Hive (Parquet, or text with Hive-compatible prefixes): .../year=YYYY/month=MM/day=DD[/hour=HH]/
- AWS's plain S3 text layout: AWSLogs/<acct>/vpcflowlogs/<region>/YYYY/MM/DD[/HH]/, where the
  object name carries the delivery stamp ..._<YYYYMMDDTHHmmZ>_<hash>.log.gz
- anything else: "a folder of flow-log files", whose day is told by the records' `start`.

Folders of other days are pruned without being listed, so a source holding a year of
logs costs one walk of the day's folders, not of the whole tree.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from flowdigest.s3layout import SERVICE
from flowdigest.scope import Scope
from flowdigest.sources.errors import FlowLogError
from flowdigest.sources.parquet import PARQUET_SUFFIXES
from flowdigest.sources.text import TEXT_SUFFIXES

EXPECTED = (
    "expected AWS's S3 layout: Parquet under AWSLogs/.../year=YYYY/month=MM/day=DD/hour=HH/*.parquet, "
    "or text under AWSLogs/<account>/vpcflowlogs/<region>/YYYY/MM/DD/*.log.gz; "
    "or a folder of .parquet / .log / .log.gz flow-log files"
)

_HIVE = re.compile(r"(year|month|day|hour)=(\d{1,4})")
_HIVE_ORIGIN = re.compile(r"aws-(account-id|region)=([a-z0-9-]+)")
_ACCOUNT = re.compile(r"\d{12}")
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d")
_STAMP = re.compile(r"(?<!\d)(\d{8})T(\d{2})(\d{2})Z")  # AWS object names: ..._20240501T0305Z_...

Kind = Literal["parquet", "text"]


@dataclass(frozen=True)
class Candidate:
    path: Path
    kind: Kind
    dated: bool  # its folders name the report day in full (Hive keys or YYYY/MM/DD)
    loose: bool  # its folders say nothing about its date
    hive: bool  # under year=/month=/day=/hour= folders (all four)
    hour: int | None  # delivery hour from hour=HH / HH folder / the name's stamp
    stamp: dt.datetime | None  # the object name's YYYYMMDDTHHmmZ stamp
    account: str | None = None  # from AWSLogs/<acct>/ or aws-account-id=<acct>/
    region: str | None = None  # from .../vpcflowlogs/<region>/ or aws-region=<region>/


@dataclass
class Scan:
    candidates: list[Candidate] = field(default_factory=list)
    dated_layout: bool = False  # the tree uses dated folders (for any day)
    other_days: set[str] = field(default_factory=set)  # dated folders of other days (pruned)
    other_files: list[Path] = field(default_factory=list)  # files that are not flow logs
    out_of_scope: int = 0  # account / Region folders the run's filters left out (pruned)

    def no_files_reason(self) -> str:
        other = ""
        if self.other_files:
            n = len(self.other_files)
            other = f"; {n} other file{'s' if n > 1 else ''}, e.g. {self.other_files[0].name}"
        return f"no flow-log files found (no .parquet, .log or .log.gz{other}); {EXPECTED}"


@dataclass(frozen=True)
class _Where:
    """What the folders walked so far say about the files below them."""

    year: int | None = None
    month: int | None = None
    day: int | None = None
    hour: int | None = None
    hive: frozenset[str] = frozenset()  # Hive keys seen
    account: str | None = None
    region: str | None = None
    service: bool = False  # past the vpcflowlogs folder of AWS's plain layout


def file_kind(name: str) -> Kind | None:
    low = name.lower()
    if low.endswith(PARQUET_SUFFIXES):
        return "parquet"
    if low.endswith(TEXT_SUFFIXES):
        return "text"
    return None


def name_stamp(name: str) -> dt.datetime | None:
    m = _STAMP.search(name)
    if not m:
        return None
    try:
        d = dt.datetime.strptime(m.group(1), "%Y%m%d")
        return d.replace(hour=int(m.group(2)), minute=int(m.group(3)), tzinfo=dt.UTC)
    except ValueError:
        return None


def _label(*parts: int | None) -> str:
    return "-".join(f"{p:04d}" if i == 0 else f"{p:02d}" for i, p in enumerate(parts) if p is not None)


def _origin(w: _Where, name: str) -> _Where | None:
    """The account or Region a folder names (AWS's two layouts), else None."""
    if m := _HIVE_ORIGIN.fullmatch(name):
        if m.group(1) == "account-id":
            return replace(w, account=m.group(2))
        return replace(w, region=m.group(2))
    if w.account is None and _ACCOUNT.fullmatch(name):
        return replace(w, account=name)
    if w.account is not None and name == SERVICE:
        return replace(w, service=True)
    if w.service and w.region is None and _REGION.fullmatch(name):
        return replace(w, region=name)
    return None


def _admitted(w: _Where, scope: Scope, scan: Scan) -> _Where | None:
    if scope.admits(w.account, w.region):
        return w
    scan.out_of_scope += 1
    return None


def _enter(w: _Where, name: str, day: dt.date, scan: Scan, scope: Scope) -> _Where | None:
    """The folder's effect on what is known, or None to prune it (another day's folder, or
    an account or Region the run's filters leave out)."""
    if (o := _origin(w, name)) is not None:
        return _admitted(o, scope, scan)
    m = _HIVE.fullmatch(name)
    if m:
        key, v = m.group(1), int(m.group(2))
        hive = w.hive | {key}
    elif not w.hive and name.isdigit() and (w.year is not None or len(name) == 4):
        v, hive = int(name), w.hive
        if w.year is None:
            key = "year" if 1970 <= v <= 2100 else ""
        elif w.month is None:
            key = "month"
        elif w.day is None:
            key = "day"
        elif w.hour is None:
            key = "hour"
        else:
            key = ""
        if len(name) != (4 if key == "year" else 2):
            key = ""
    else:
        return w
    if key == "hour":
        return replace(w, hour=v if v < 24 else None, hive=hive)
    if key in ("year", "month", "day"):
        scan.dated_layout = True
        want = {"year": day.year, "month": day.month, "day": day.day}[key]
        if v != want:
            parts = {"year": (v,), "month": (w.year, v), "day": (w.year, w.month, v)}[key]
            scan.other_days.add(_label(*parts))
            return None
        return replace(w, hive=hive, year=v if key == "year" else w.year, month=v if key == "month" else w.month,
                       day=v if key == "day" else w.day)
    return w


def _file(path: Path, w: _Where, day: dt.date, scan: Scan) -> None:
    kind = file_kind(path.name)
    if kind is None:
        scan.other_files.append(path)
        return
    stamp = name_stamp(path.name)
    hour = w.hour
    if hour is None and stamp is not None and stamp.date() == day:
        hour = stamp.hour
    scan.candidates.append(Candidate(
        path=path, kind=kind, dated=None not in (w.year, w.month, w.day),
        loose=(w.year, w.month, w.day) == (None, None, None),
        hive={"year", "month", "day", "hour"} <= w.hive, hour=hour, stamp=stamp,
        account=w.account, region=w.region,
    ))


# flowdigest's own output, never read as flow logs: rollup folders (by name), and folders
# holding a rollup's stamp or a report (the report files are not flow logs; a rollup's
# Parquet files would be read as flow logs without their start column).
_OWN_FOLDER = re.compile(r"^(?:rollup_set=.*|dt=\d{4}-\d{2}-\d{2})$")
_OWN_MARKERS = ("_built_from.sha256", "report.json")
# A flow-log tree, even a year of it, enters few folders (other days' are pruned); a walk
# past this many is of something else (`--source /`, a home folder) and would take ages.
MAX_FOLDERS = 10_000


def _identity(folder: Path) -> tuple[int, int] | None:
    """(device, inode): the same folder however it is reached (links); None if it is gone."""
    try:
        st = folder.stat()
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _listing(folder: Path) -> list[os.DirEntry[str]]:
    """The folder's entries by name; none for a folder holding flowdigest's own output."""
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as e:
        raise FlowLogError(folder, f"cannot list folder: {e.strerror or e}") from e
    if any(e.name in _OWN_MARKERS for e in entries):
        return []
    return entries


def _entry_kind(entry: os.DirEntry[str]) -> str | None:
    """"dir" or "file" to look into; None for hidden, own-output and unfollowable entries."""
    if entry.name.startswith((".", "_")):  # .DS_Store, _SUCCESS, .tmp parts
        return None
    try:
        is_dir, is_file = entry.is_dir(), entry.is_file()
    except OSError:  # a link it may not follow (/proc/1/cwd): not a flow-log file
        return None
    if is_dir:
        return None if _OWN_FOLDER.match(entry.name) else "dir"
    return "file" if is_file else None


def scan(root: Path, day: dt.date, exclude: Sequence[Path] = (), scope: Scope | None = None) -> Scan:
    """Walk `root` for the day's candidate files (all loose flow-log files, and the day's dated ones).

    Folders in `exclude` (the run's output folder), and any rollup or report folder, are
    skipped, and so are the accounts' and Regions' folders `scope` leaves out.
    """
    found = Scan()
    scope = scope or Scope()
    if root.is_file():
        _file(root, _Where(), day, found)
        return found

    seen = {k for k in map(_identity, exclude) if k is not None}
    entered = 0

    def walk(folder: Path, w: _Where) -> None:
        nonlocal entered
        key = _identity(folder)
        if key is None or key in seen:  # a symlink loop, the same folder linked twice, or excluded
            return
        seen.add(key)
        entered += 1
        if entered > MAX_FOLDERS:
            raise FlowLogError(
                root, f"more than {MAX_FOLDERS} folders under it: not a folder of flow logs? "
                f"Point --source at the flow logs' folder; {EXPECTED}"
            )
        for entry in _listing(folder):
            kind = _entry_kind(entry)
            if kind == "dir":
                sub = _enter(w, entry.name, day, found, scope)
                if sub is not None:
                    walk(Path(entry.path), sub)
            elif kind == "file":
                _file(Path(entry.path), w, day, found)

    walk(root, _Where())
    return found
