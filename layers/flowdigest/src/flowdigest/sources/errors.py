"""The one error type the sources raise for input they cannot use."""

from __future__ import annotations

from pathlib import Path


class FlowLogError(Exception):
    """Input the run cannot use; str() is one line naming the file and what is wrong.

    `FlowLogError(path, reason)` keeps both parts so a skipped file can be listed as
    (path, reason); `FlowLogError(message)` still works for errors about no one file.
    """

    def __init__(self, path: str | Path, reason: str | None = None) -> None:
        self.path = str(path) if reason is not None else ""
        self.reason = one_line(reason if reason is not None else str(path))
        super().__init__(f"{self.path}: {self.reason}" if self.path else self.reason)


def one_line(text: str, limit: int = 400) -> str:
    """Collapse a (possibly multi-line, library-made) message to one bounded line."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def show(value: str, limit: int = 40) -> str:
    """A value quoted for an error message, cut short so one bad line stays one line."""
    return repr(value if len(value) <= limit else value[: limit - 1] + "…")
