"""Plotly figures to PNG bytes, with one headless Chromium per process.

Starting Chromium and loading plotly.js into it costs about as much as rendering a
handful of charts, so the browser is started once per process and kept: a warm Lambda
reuses it across invocations, the CLI across a whole report.

kaleido's own ``start_sync_server`` does the same, but when the browser fails to start
its worker thread dies and every later call waits forever. Here the same
``kaleido.Kaleido`` object runs on an event loop in a daemon thread that we own, so every
call has a deadline and a failed start or a crashed browser becomes an error.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import logging
import os
import site
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import kaleido
import logistro

from .browser import find_chromium

T = TypeVar("T")

Figure = Any  # a plotly Figure or its dict form: plotly ships no type information


class RenderError(RuntimeError):
    """A chart could not be rendered; the message is one line."""


@dataclass
class _Server:
    chromium: Path
    loop: asyncio.AbstractEventLoop
    thread: threading.Thread
    browser: kaleido.Kaleido
    start_seconds: float

    def alive(self) -> bool:
        process = getattr(self.browser, "subprocess", None)
        return self.thread.is_alive() and process is not None and process.poll() is None

    def call(self, make: Callable[[], Awaitable[T]], timeout: float) -> T:
        return _call(self.loop, make, timeout)


def _call(loop: asyncio.AbstractEventLoop, make: Callable[[], Awaitable[T]], timeout: float) -> T:
    """Run a coroutine on the browser's loop and wait for it, ``timeout`` seconds at most."""

    async def run() -> T:
        try:
            return await make()
        except Exception:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                # We gave up waiting and cancelled it; choreographer turned that into an
                # error of its own, which nobody will read: end cancelled, not with an
                # "exception was never retrieved" on stderr.
                raise asyncio.CancelledError from None
            raise

    future = asyncio.run_coroutine_threadsafe(run(), loop)
    try:
        return future.result(timeout)
    except TimeoutError:
        future.cancel()
        raise


_lock = threading.Lock()
_server: _Server | None = None
_atexit_registered = False


def _one_line(error: BaseException) -> str:
    # choreographer raises with several string args; the first says what happened.
    first = error.args[0] if error.args and isinstance(error.args[0], str) else str(error)
    text = " ".join(first.split())
    return f"{type(error).__name__}: {text[:300]}" if text else type(error).__name__


def _let_child_pythons_import_logistro() -> None:
    """choreographer launches Chromium through ``sys.executable <its wrapper.py>``, which
    imports logistro. In Lambda the layer's packages (/opt/python) are on this process's
    sys.path but not on a child interpreter's: without this the browser "closes
    immediately after starting". A no-op where logistro sits in the interpreter's own
    site-packages (a venv, a system install)."""
    folder = str(Path(logistro.__file__).resolve().parent.parent)
    defaults = {str(Path(p).resolve()) for p in site.getsitepackages()}
    current = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    if folder not in defaults and folder not in current:
        os.environ["PYTHONPATH"] = os.pathsep.join([*current, folder])


def _start_server(chromium: Path, timeout: float) -> _Server:
    _let_child_pythons_import_logistro()
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="flowdigest-chromium", daemon=True)
    thread.start()
    holder: list[kaleido.Kaleido] = []

    async def open_browser() -> kaleido.Kaleido:
        # mathjax=False: otherwise the page fetches MathJax from a CDN, which hangs in a
        # VPC without internet. plotly.js itself comes from the installed plotly package.
        browser = kaleido.Kaleido(path=str(chromium), mathjax=False, n=1, timeout=timeout)
        holder.append(browser)
        await browser.open()
        return browser

    started = time.perf_counter()
    try:
        browser = _call(loop, open_browser, timeout)
    except Exception as e:
        _stop_loop(loop, thread, holder[0] if holder else None)
        raise RenderError(f"could not start Chromium ({chromium}): {_one_line(e)}") from e
    return _Server(chromium, loop, thread, browser, time.perf_counter() - started)


def _get_server(chromium: Path | None, timeout: float) -> tuple[_Server, bool]:
    """The process's server, started (or restarted, if its browser died) when needed."""
    global _server, _atexit_registered
    with _lock:
        if _server is not None and _server.alive():
            return _server, False
        if _server is not None:
            _stop_locked()
        _server = _start_server(chromium or find_chromium(), timeout)
        if not _atexit_registered:
            atexit.register(stop_server)
            _atexit_registered = True
        return _server, True


async def _shutdown(browser: kaleido.Kaleido | None) -> None:
    if browser is not None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(browser.close(), 10)
    # choreographer's watchdog (and anything a dead browser left) would otherwise be
    # destroyed pending when the loop closes, with a warning on stderr.
    others = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
    for task in others:
        task.cancel()
    await asyncio.gather(*others, return_exceptions=True)


def _stop_loop(loop: asyncio.AbstractEventLoop, thread: threading.Thread, browser: kaleido.Kaleido | None) -> None:
    # On its way out choreographer's launcher writes "{bye}" down the pipe, which the
    # reader may log as a JSONError traceback: expected here, so not shown.
    pipe_logger = logging.getLogger("choreographer.channels.pipe")
    level = pipe_logger.level
    pipe_logger.setLevel(logging.CRITICAL)
    try:
        if thread.is_alive():
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(_shutdown(browser), loop).result(15)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(10)
        if not thread.is_alive():
            loop.close()
    finally:
        pipe_logger.setLevel(level)


def _stop_locked() -> None:
    global _server
    server, _server = _server, None
    if server is not None:
        _stop_loop(server.loop, server.thread, server.browser)


def stop_server() -> None:
    """Close the process's Chromium (run at exit; call it to free the memory sooner)."""
    with _lock:
        _stop_locked()


class PngRenderer:
    """Renders plotly figures to PNG bytes through the process's one Chromium.

    Every renderer in a process shares the browser (started by the first one that needs
    it, with the first one's ``chromium``), which stays up until exit or
    :func:`stop_server`. Leaving the ``with`` block therefore does not stop it.

    Timings, for benchmarks and logs: ``find_seconds`` (locating the browser, which in
    Lambda includes unpacking it on a cold start), ``browser_start_seconds`` (starting it
    and loading plotly.js; 0 when this renderer found it running) and ``chart_seconds``
    (one entry per chart rendered).
    """

    def __init__(self, chromium: Path | str | None = None, *, timeout: float = 60.0) -> None:
        self._chromium = Path(chromium) if chromium is not None else None
        self.timeout = timeout
        self.find_seconds = 0.0
        self.browser_start_seconds = 0.0
        self.chart_seconds: list[float] = []

    def __enter__(self) -> PngRenderer:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None

    def start(self) -> None:
        """Start the process's browser now rather than at the first render."""
        self._server()

    @property
    def chromium(self) -> Path | None:
        """The executable the running browser was started from (None before the start)."""
        return _server.chromium if _server is not None else None

    @property
    def browser_pid(self) -> int | None:
        """The browser's process id: the same for every renderer in one process."""
        server = _server
        return server.browser.subprocess.pid if server is not None else None

    def _server(self) -> _Server:
        chromium = self._chromium
        if chromium is None and (_server is None or not _server.alive()):
            started = time.perf_counter()
            chromium = find_chromium()  # outside the lock is fine: unpack is race-safe
            self.find_seconds += time.perf_counter() - started
        server, fresh = _get_server(chromium, self.timeout)
        if fresh:
            self.browser_start_seconds += server.start_seconds
        return server

    def render(self, fig: Figure, width: int, height: int, scale: float = 1) -> bytes:
        """The figure as a PNG of ``width*scale`` × ``height*scale`` pixels."""
        opts: Mapping[str, Any] = {"format": "png", "width": width, "height": height, "scale": scale}
        for attempt in (1, 2):
            server = self._server()
            started = time.perf_counter()
            try:
                png = server.call(partial(server.browser.calc_fig, fig, opts=dict(opts)), self.timeout + 10)
            except Exception as e:
                if attempt == 1 and not server.alive():
                    continue  # the browser died (e.g. out of memory): start a new one, once
                raise RenderError(f"rendering a {width}x{height} chart failed: {_one_line(e)}") from e
            self.chart_seconds.append(time.perf_counter() - started)
            if not png.startswith(b"\x89PNG"):
                raise RenderError(f"rendering a {width}x{height} chart returned {len(png)} bytes, not a PNG")
            return bytes(png)
        raise AssertionError("unreachable")

    def render_many(self, items: Iterable[tuple[Figure, int, int]]) -> list[bytes]:
        """Several figures, each with its (width, height), in order."""
        return [self.render(fig, width, height) for fig, width, height in items]
