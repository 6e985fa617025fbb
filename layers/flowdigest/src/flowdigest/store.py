"""Where a run keeps what it writes: report files, charts, and the daily rollups' history.

Keys are '/'-separated paths ("2026-11-26/report.json"). Locally they live under a folder;
in AWS under a prefix of the reports bucket (flowdigest.aws.s3store).
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol


class Store(Protocol):
    def read_bytes(self, key: str) -> bytes: ...

    def write_bytes(self, key: str, data: bytes, content_type: str | None = None) -> str: ...

    def exists(self, key: str) -> bool: ...


class LocalStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, key: str) -> Path:
        return self.root / key

    def read_bytes(self, key: str) -> bytes:
        return self.path(key).read_bytes()

    def write_bytes(self, key: str, data: bytes, content_type: str | None = None) -> str:
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(data)
        tmp.replace(path)  # readers never see half a file
        return str(path)

    def exists(self, key: str) -> bool:
        return self.path(key).exists()
