"""
Take the documentation site's pictures: two built pages, as headless Chromium shows them.

Run: ``make docs-screenshots`` (builds the site, installs Playwright into the virtual environment;
needs Debian's ``chromium``). Writes ``docs/images/docs-operator-reference.png`` (the operator's
arguments as the API reference renders them from the docstring) and
``docs/images/docs-delivery-scenarios.png`` (the scenario table the delivery suite proves).
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SITE = REPO / "docs" / "_build" / "html"
IMAGES = REPO / "docs" / "images"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
#: Scroll at once (the theme scrolls smoothly), leaving room for the theme's header bar.
SCROLL = "e => { e.scrollIntoView({behavior: 'instant'}); window.scrollBy({top: -80, behavior: 'instant'}); }"
#: picture -> (page, the element to scroll to the top of the window).
SHOTS = {
    "docs-operator-reference.png": (
        "operator.html",
        "[id$='.SimpleOrdersUploadOperator'] + dd dl.field-list",
    ),
    "docs-delivery-scenarios.png": ("delivery.html", "[id='what-the-delivery-suite-proves']"),
}


def main() -> int:
    """Open each page from the built site, scroll to its element, and save the window."""
    from playwright.sync_api import sync_playwright

    if not (SITE / "index.html").exists():
        print("build the site first: make docs", file=sys.stderr)
        return 1
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        for name, (page_file, selector) in SHOTS.items():
            page.goto((SITE / page_file).as_uri(), wait_until="load")
            page.locator(selector).first.evaluate(SCROLL)
            page.wait_for_timeout(500)
            page.screenshot(path=str(IMAGES / name))
            print(f"wrote {(IMAGES / name).relative_to(REPO)}")
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
