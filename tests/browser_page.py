"""Open a page in the project's headless Chromium and read what it shows (via CDP)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import choreographer

from flowdigest.charts.browser import find_chromium

_STATE = """(location.protocol === 'file:' && document.readyState === 'complete') ? JSON.stringify({
  images: [...document.images].map(i => ({src: i.getAttribute('src'), alt: i.alt,
                                          width: i.naturalWidth, height: i.naturalHeight})),
  text: document.body.innerText}) : ''"""


async def _state(url: str, timeout: float) -> dict[str, Any]:
    async with choreographer.Browser(path=str(find_chromium()), headless=True) as browser:
        tab = await browser.create_tab(url)
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            reply = await tab.send_command("Runtime.evaluate", params={"expression": _STATE, "returnByValue": True})
            value = reply["result"]["result"].get("value")
            if value:
                return json.loads(value)
            await asyncio.sleep(0.2)
    raise TimeoutError(f"{url} did not finish loading in {timeout} s")


def page_state(path: Path, timeout: float = 30.0) -> dict[str, Any]:
    """The loaded page's images (with their decoded sizes) and visible text."""
    return asyncio.run(_state(path.resolve().as_uri(), timeout))
