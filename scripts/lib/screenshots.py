"""Pictures of every page of the web app at a desk's width (1280 px) and a phone's (375 px),
for the README: a fresh server on SQLite given something to show, toured by Playwright
(tests/peer/tour.py, the same tour the accessibility test takes)."""

import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "peer"))

from playwright.sync_api import sync_playwright  # noqa: E402

from conftest import CHROMIUM, running_server  # noqa: E402
from tour import tour  # noqa: E402

OUT = os.path.join(ROOT, "docs", "screenshots")
WIDTHS = {"desk": 1280, "phone": 375}


def main():
    os.makedirs(OUT, exist_ok=True)
    shots = []
    with running_server("sqlite") as server, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1280, "height": 800})

        def shoot(name):
            for width_name, width in WIDTHS.items():
                page.set_viewport_size({"width": width, "height": 800})
                path = os.path.join(OUT, f"{name}-{width_name}.png")
                page.screenshot(path=path, full_page=True)
                shots.append(path)
            page.set_viewport_size({"width": 1280, "height": 800})

        tour(server, page, shoot)
        browser.close()
    for path in shots:
        print(os.path.relpath(path, ROOT))


if __name__ == "__main__":
    started = time.time()
    main()
    print(f"done in {time.time() - started:.0f} s")
