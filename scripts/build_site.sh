#!/usr/bin/env bash
# Build the course website from the committed notebooks (their outputs as committed; no cell runs).
#
#   bash scripts/build_site.sh          # -> site/_build/html/index.html (open it in a browser)
#
# Sphinx with MyST-NB (pinned in requirements.txt) turns README.md, site/index.md and the five
# notebooks into HTML. Warnings are errors (-W -n --keep-going: a broken link or a missing
# figure fails the build), and site/check_site.py then checks every local link, anchor and
# picture of the built pages and that no page loads anything from the network.
# The equations are drawn by a local MathJax 3 (site/_vendor/mathjax, git-ignored): the first
# build fetches it once with `npm pack` and checks its checksum; later builds work offline.
# Environment: GAN_COURSE_VENV (venv to use; default .venv).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${GAN_COURSE_VENV:-$ROOT/.venv}"
PY="$VENV/bin/python"
SITE="$ROOT/site"
BUILD="$SITE/_build"
MATHJAX_VERSION=3.2.2
MATHJAX_SHA256=1b9c0a1c44df864e915690558e72adb9cc5203360daefd385084ced3b6c64c09
MATHJAX_DIR="$SITE/_vendor/mathjax"

if [[ ! -x "$PY" ]]; then
    echo "build_site: no Python at $PY; run 'bash scripts/setup_env.sh' first (or set GAN_COURSE_VENV)" >&2
    exit 1
fi
if ! "$PY" -c "import sphinx, myst_nb, furo" 2>/dev/null; then
    echo "build_site: Sphinx, MyST-NB or Furo is missing from $VENV; run 'bash scripts/setup_env.sh --force'" >&2
    exit 1
fi

fetch_mathjax() {
    # MathJax's single-file SVG build (every TeX extension included, fonts as paths): nothing
    # else to load, so it works from file:// and without network. The tarball comes from the
    # npm registry, by npm when it is installed, else by Python (a fresh machine has no npm).
    local tmp
    tmp="$(mktemp -d)"
    local tarball="$tmp/mathjax-$MATHJAX_VERSION.tgz"
    if command -v npm >/dev/null 2>&1; then
        (cd "$tmp" && npm pack --silent "mathjax@$MATHJAX_VERSION" >/dev/null) || true
    fi
    if [[ ! -s "$tarball" ]]; then
        "$PY" - "$tarball" "$MATHJAX_VERSION" <<'PY' || true
import sys, urllib.request
path, version = sys.argv[1], sys.argv[2]
url = f"https://registry.npmjs.org/mathjax/-/mathjax-{version}.tgz"
with urllib.request.urlopen(url, timeout=60) as response, open(path, "wb") as out:
    out.write(response.read())
PY
    fi
    if [[ ! -s "$tarball" ]]; then
        echo "build_site: could not fetch MathJax $MATHJAX_VERSION from the npm registry;" >&2
        echo "build_site: put its es5/tex-svg-full.js into $MATHJAX_DIR yourself" >&2
        rm -rf "$tmp"
        return 1
    fi
    if ! echo "$MATHJAX_SHA256  $tarball" | sha256sum --check --status; then
        echo "build_site: mathjax-$MATHJAX_VERSION.tgz does not match its recorded SHA-256; not using it" >&2
        rm -rf "$tmp"
        return 1
    fi
    tar -xzf "$tarball" -C "$tmp" package/es5/tex-svg-full.js package/LICENSE
    mkdir -p "$MATHJAX_DIR"
    mv "$tmp/package/es5/tex-svg-full.js" "$tmp/package/LICENSE" "$MATHJAX_DIR/"
    echo "$MATHJAX_VERSION" > "$MATHJAX_DIR/VERSION"
    rm -rf "$tmp"
}

# One build at a time in this checkout (a test may start one while another runs).
mkdir -p "$BUILD"
if command -v flock >/dev/null 2>&1; then
    exec 9>"$BUILD/.lock"
    flock 9
fi

if [[ ! -s "$MATHJAX_DIR/tex-svg-full.js" || "$(cat "$MATHJAX_DIR/VERSION" 2>/dev/null)" != "$MATHJAX_VERSION" ]]; then
    echo "build_site: fetching MathJax $MATHJAX_VERSION (once; kept in site/_vendor/)"
    fetch_mathjax || exit 1
fi

# The source folder: site/index.md plus the repository's tracked files (hard links: no copy,
# and unlike symbolic links they keep every relative link and picture path inside the folder,
# exactly as in the repository; conf.py's include_patterns pick the pages).
rm -rf "$BUILD/src" "$BUILD/html" "$BUILD/doctrees"
mkdir -p "$BUILD/src"
stage() {  # stage FILE (relative to the repository)
    mkdir -p "$BUILD/src/$(dirname "$1")"
    ln "$ROOT/$1" "$BUILD/src/$1" 2>/dev/null || cp "$ROOT/$1" "$BUILD/src/$1"
}
if git -C "$ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    while IFS= read -r -d '' file; do
        [[ "$file" == site/* || ! -f "$ROOT/$file" ]] || stage "$file"
    done < <(git -C "$ROOT" ls-files -z)
else
    while IFS= read -r -d '' file; do stage "${file#"$ROOT"/}"; done \
        < <(find "$ROOT/README.md" "$ROOT/notebooks" "$ROOT/images" -type f -not -path '*/.ipynb_checkpoints/*' -print0)
fi
cp "$SITE/index.md" "$BUILD/src/index.md"

start=$SECONDS
echo "build_site: sphinx-build (warnings are errors)"
"$PY" -m sphinx -b html -E -W -n --keep-going -q -c "$SITE" -d "$BUILD/doctrees" "$BUILD/src" "$BUILD/html"
"$PY" "$SITE/check_site.py" "$BUILD/html"
echo "build_site: built in $((SECONDS - start)) s: open $BUILD/html/index.html"
