"""Check the built course website: local links, anchors and pictures, and nothing from the network.

    python site/check_site.py site/_build/html

Sphinx's own warnings (``-W -n``) catch most broken references while building; this reads the
HTML it wrote, as a browser would, and fails (exit 1, one line per problem) when
- a local link points to a missing file or to an anchor the target page lacks,
- a picture is missing, empty or not an image,
- a page loads a script, style sheet or picture from another host (the site must work offline),
- a notebook's page shows fewer pictures than the committed notebook holds (a lost figure),
- a notebook's page has equations but no local MathJax to draw them.
"""

from __future__ import annotations

import json
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

REPO = Path(__file__).resolve().parents[1]
IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF8", b"<svg", b"<?xml")
IMAGE_MIME = ("image/png", "image/jpeg", "image/svg+xml", "image/gif")


class Page(HTMLParser):
    """The ids, links, pictures and remote loads of one HTML page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.links: list[str] = []
        self.images: list[str] = []
        self.loads: list[str] = []  # src/href of script, link, img, iframe
        self.math = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        for key in ("id", "name") if tag == "a" else ("id",):
            if a.get(key):
                self.ids.add(a[key])
        if tag == "a" and "href" in a:
            self.links.append(a["href"])
        if tag == "img" and "src" in a:
            self.images.append(a["src"])
        if tag in ("script", "img", "iframe") and a.get("src"):
            self.loads.append(a["src"])
        if tag == "link" and a.get("href") and a.get("rel", "") not in ("canonical", "author", "license"):
            self.loads.append(a["href"])
        if "math" in a.get("class", "").split():
            self.math += 1


def _is_remote(url: str) -> bool:
    parts = urlsplit(url)
    return bool(parts.scheme and parts.scheme not in ("file", "data")) or url.startswith("//")


def _notebook_figures(notebook: Path) -> int:
    """Pictures a notebook holds: image outputs of code cells and pictures in markdown cells."""
    count = 0
    for cell in json.loads(notebook.read_text())["cells"]:
        if cell["cell_type"] == "code":
            count += sum(any(m in out.get("data", {}) for m in IMAGE_MIME) for out in cell.get("outputs", []))
        else:
            source = "".join(cell["source"])
            count += source.count("![") + source.count("<img ")
    return count


def check_site(html_dir: Path, notebooks_dir: Path = REPO / "notebooks") -> list[str]:
    """Check every page under ``html_dir``.

    Args:
        html_dir: Sphinx's HTML output folder.
        notebooks_dir: the committed notebooks the site was built from.

    Returns:
        One line per problem found; empty when the site is whole.
    """
    if not (html_dir / "index.html").is_file():
        return [f"{html_dir}/index.html is missing: build the site first (bash scripts/build_site.sh)"]
    pages: dict[Path, Page] = {}
    for path in sorted(html_dir.rglob("*.html")):
        page = Page()
        page.feed(path.read_text(encoding="utf-8", errors="replace"))
        pages[path.resolve()] = page
    problems = []
    for path, page in pages.items():
        name = path.relative_to(html_dir.resolve())
        for url in page.loads:
            if _is_remote(url):
                problems.append(f"{name}: loads {url} from the network")
            elif url not in page.images and not url.startswith("data:") \
                    and not (path.parent / unquote(urlsplit(url).path)).exists():
                problems.append(f"{name}: loads {url}, which is missing")
        for url in page.links:
            if _is_remote(url) or url.startswith(("mailto:", "javascript:")):
                continue
            parts = urlsplit(url)
            target = (path.parent / unquote(parts.path)).resolve() if parts.path else path
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                problems.append(f"{name}: link {url} points to a missing file")
            elif parts.fragment and target.suffix == ".html":
                if target in pages and parts.fragment not in pages[target].ids:
                    problems.append(f"{name}: link {url}: no anchor #{parts.fragment} in {target.name}")
        for url in page.images:
            if url.startswith("data:"):
                continue
            if _is_remote(url):
                continue  # reported above as a remote load
            target = (path.parent / unquote(urlsplit(url).path)).resolve()
            if not target.is_file() or target.stat().st_size == 0:
                problems.append(f"{name}: picture {url} is missing or empty")
            elif not target.read_bytes()[:8].lstrip().startswith(IMAGE_MAGIC):
                problems.append(f"{name}: picture {url} is not a PNG, JPEG, GIF or SVG file")
        if page.math and not any(urlsplit(url).path.endswith("mathjax/tex-svg-full.js") for url in page.loads):
            problems.append(f"{name}: {page.math} equations but no local MathJax script")
    for notebook in sorted(notebooks_dir.glob("*.ipynb")):
        html = (html_dir / "notebooks" / f"{notebook.stem}.html").resolve()
        if html not in pages:
            problems.append(f"notebook {notebook.name} has no page (notebooks/{notebook.stem}.html)")
            continue
        expected, shown = _notebook_figures(notebook), len(pages[html].images)
        if shown < expected:
            problems.append(f"notebooks/{notebook.stem}.html shows {shown} pictures, the notebook holds {expected}")
    return problems


def main(argv: list[str]) -> int:
    """Check the folder named on the command line; print the problems; 0 when there are none."""
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    html_dir = Path(argv[1])
    problems = check_site(html_dir)
    for line in problems:
        print(f"check_site: {line}", file=sys.stderr)
    pages = sum(1 for _ in html_dir.rglob("*.html"))
    print(f"check_site: {pages} pages, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
