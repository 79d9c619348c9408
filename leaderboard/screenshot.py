"""Take ``leaderboard/screenshot.png`` of ``leaderboard/index.html`` in headless Chromium.

    python leaderboard/screenshot.py [--width 1200] [--height 1500]

Needs a Chromium browser (Debian: ``apt-get install -y chromium``); see
:mod:`crosscountry_gym.leaderboard.browser` for the flags used (no network, throw-away profile).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from crosscountry_gym.leaderboard.browser import find_chromium, screenshot

HERE = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--width", type=int, default=1200)
    p.add_argument("--height", type=int, default=1500)
    p.add_argument("--out", default=str(HERE / "screenshot.png"))
    args = p.parse_args(argv)
    if find_chromium() is None:
        print("no Chromium browser found (Debian: apt-get install -y chromium)", file=sys.stderr)
        return 2
    print(f"wrote {screenshot(HERE / 'index.html', args.out, (args.width, args.height))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
