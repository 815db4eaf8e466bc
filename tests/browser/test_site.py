"""The course website in headless Chromium: figures and equations show, with no network.

The site (``bash scripts/build_site.sh``; built here when missing or older than a notebook)
is served from ``site/_build/html`` on a private localhost port. The test opens the landing
page, follows its course map to notebook 01's page and checks, as a reader would see them,
that a figure has loaded (natural width > 0), that MathJax has drawn the equations, and that
the worked answers are folded. Any request to another host is blocked and fails the test.
A screenshot goes to ``artifacts/browser/site_notebook_page.png``; with
``GAN_COURSE_README_SCREENSHOT=1`` it is also copied to ``images/site_notebook_page.png``.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from lab_harness import REPO

pytestmark = pytest.mark.browser

HTML = REPO / "site" / "_build" / "html"
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
README_SCREENSHOT = REPO / "images" / "site_notebook_page.png"
FIGURE_JS = """(img) => img.complete && img.naturalWidth > 0"""
SCROLL_TO_FIGURE_WITH_EQUATION_JS = """() => {
    document.documentElement.style.scrollBehavior = 'auto';
    const top = el => el.getBoundingClientRect().top + window.scrollY;
    const equations = Array.from(document.querySelectorAll('mjx-container')).map(top);
    for (const img of document.querySelectorAll('.cell_output img')) {
        const y = top(img);
        if (equations.some(e => e < y && y - e < 600)) {
            img.scrollIntoView({block: 'end'});
            window.scrollBy(0, 30);
            return true;
        }
    }
    return false;
}"""


def _site_is_stale() -> bool:
    index = HTML / "index.html"
    if not index.is_file():
        return True
    built = index.stat().st_mtime
    sources = [*NOTEBOOKS, REPO / "README.md", *(REPO / "site").glob("*.*")]
    return any(path.stat().st_mtime > built for path in sources if path.is_file())


@pytest.fixture(scope="module")
def site_url() -> Iterator[str]:
    """The built site, served on 127.0.0.1 for the module's tests."""
    if _site_is_stale():
        result = subprocess.run(["bash", str(REPO / "scripts" / "build_site.sh")], cwd=REPO,
                                capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, f"build_site.sh failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    handler = functools.partial(QuietHandler, directory=str(HTML))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


class QuietHandler(SimpleHTTPRequestHandler):
    """Serves the site without logging each request to stderr."""

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the base class's name
        pass


@pytest.fixture()
def site_page(browser, site_url: str):
    """A fresh page whose requests to any host but the site's are blocked and recorded."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, device_scale_factor=1)
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.remote_requests = []
    own_host = urlsplit(site_url).netloc

    def route(route) -> None:
        url = route.request.url
        if urlsplit(url).netloc == own_host or url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            page.remote_requests.append(url)
            route.abort()

    page.route("**/*", route)
    yield page
    context.close()


def test_site_shows_figures_and_equations(site_page, site_url: str, artifacts_dir: Path) -> None:
    page = site_page
    page.goto(f"{site_url}/index.html", wait_until="load")

    # Landing page: the course map links every notebook, and its figure has loaded.
    course_map = page.locator("article table")
    for notebook in NOTEBOOKS:
        assert course_map.locator(f"a[href='notebooks/{notebook.stem}.html']").count() == 1, (
            f"the course map has no link to {notebook.stem}")
    figure = page.locator("article img").first
    figure.wait_for(state="visible")
    assert figure.evaluate(FIGURE_JS), "the landing page's figure did not load"
    assert page.locator("article a[href='README.html#set-up']").count() >= 1, "no link to the set-up"

    # Notebook 01's page, reached through the course map.
    page.locator("article table a[href='notebooks/01_basic_gan.html']").click()
    page.wait_for_url("**/notebooks/01_basic_gan.html")
    page.wait_for_load_state("load")
    output_figures = page.locator(".cell_output img")
    assert output_figures.count() > 0, "notebook 01's page shows no output figure"
    first_figure = output_figures.first
    first_figure.scroll_into_view_if_needed()
    first_figure.wait_for(state="visible")
    page.wait_for_function(FIGURE_JS, arg=first_figure.element_handle())

    # MathJax replaces each TeX span's text with an <mjx-container> holding an SVG.
    page.wait_for_function("() => document.querySelectorAll('mjx-container svg').length > 0", timeout=60_000)
    raw_tex = page.locator("span.math:not(:has(mjx-container))").count()
    assert raw_tex == 0, f"{raw_tex} equations were left as raw TeX"
    equation = page.locator("mjx-container[display='true']").first
    equation.scroll_into_view_if_needed()
    box = equation.bounding_box()
    assert box and box["width"] > 20 and box["height"] > 5, f"a displayed equation has no size: {box}"

    # The worked answers are folded: the <details> blocks are closed, their code not shown.
    answers = page.locator("article details")
    assert answers.count() > 0, "notebook 01's page has no folded worked answer"
    assert answers.evaluate_all("els => els.every(d => !d.open)"), "a worked answer is unfolded"
    assert not answers.first.locator("pre").first.is_visible(), "a folded answer's code shows"
    assert page.locator("a[href='02_dcgan.html']").count() >= 1, "notebook 01's page has no link to notebook 02"
    assert page.remote_requests == [], f"the page asked other hosts for {page.remote_requests}"

    # The screenshot: the first output figure with an equation at most 600 px above it.
    found = page.evaluate(SCROLL_TO_FIGURE_WITH_EQUATION_JS)
    assert found, "no output figure of notebook 01 has an equation shortly before it"
    page.wait_for_timeout(300)  # let the page settle after the jump
    shot = artifacts_dir / "site_notebook_page.png"
    page.screenshot(path=str(shot))
    if os.environ.get("GAN_COURSE_README_SCREENSHOT") == "1":
        shutil.copyfile(shot, README_SCREENSHOT)
