"""Headless Chromium for the rendered page: open it, read the DOM after its script ran, and take
a screenshot. Used by the page test and ``leaderboard/screenshot.py``; optional (nothing else in
the package needs a browser). Debian/Ubuntu: ``apt-get install -y chromium``.

The flags keep the browser off the network and away from the user's profile: no sandbox (CI
containers run as root), no GPU, no background networking, component updates or sync, and a
throw-away ``--user-data-dir``.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

__all__ = ["find_chromium", "dump_dom", "screenshot", "CHROMIUM_FLAGS"]

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def find_chromium() -> str | None:
    """Path of a Chromium-family browser on ``PATH``, or ``None``."""
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


def _run(args: list[str], timeout: float) -> subprocess.CompletedProcess:
    browser = find_chromium()
    if browser is None:
        raise FileNotFoundError(f"no Chromium browser found (tried {', '.join(CHROMIUM_NAMES)})")
    with tempfile.TemporaryDirectory(prefix="crosscountry-chromium-") as profile:
        cmd = [browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=True)


def dump_dom(page: str | Path, fragment: str = "", timeout: float = 60.0) -> str:
    """The serialised DOM of ``page`` after its scripts ran (``--dump-dom``)."""
    url = Path(page).resolve().as_uri() + (f"#{fragment}" if fragment else "")
    return _run(["--dump-dom", url], timeout).stdout


def screenshot(page: str | Path, png: str | Path, size: tuple[int, int] = (1200, 1600),
               timeout: float = 60.0) -> Path:
    """Write a PNG screenshot of ``page`` (the top ``size`` pixels) to ``png``."""
    png = Path(png).resolve()
    _run([f"--window-size={size[0]},{size[1]}", "--hide-scrollbars", f"--screenshot={png}",
          Path(page).resolve().as_uri()], timeout)
    return png
