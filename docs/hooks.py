"""MkDocs hook: pages that are the repository's own Markdown files (README-adjacent ``BENCHMARKS.md``,
``RESULTS.md``, ``scripts/README.md``), included whole with their links rewritten for the site.

A page whose whole text is ``<!-- include PATH -->`` gets the file ``PATH`` (relative to the repository
root). Its links to ``docs/…`` and to the other included files are made relative to the page, so one
text serves GitHub and the site.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
INCLUDED = {"BENCHMARKS.md": "benchmarks/measurements.md", "RESULTS.md": "benchmarks/results.md",
            "scripts/README.md": "benchmarks/scripts.md"}
_MARKER = re.compile(r"\s*<!-- include (\S+) -->\s*")
_LINK = re.compile(r"\]\(([^)#\s]+)(#[^)\s]*)?\)")


def _rewrite(text: str, page_uri: str) -> str:
    here = posixpath.dirname(page_uri)

    def target(match: re.Match) -> str:
        path, anchor = match.group(1), match.group(2) or ""
        if path.startswith("docs/"):
            path = posixpath.relpath(path[len("docs/"):], here or ".")
        elif path in INCLUDED:
            path = posixpath.relpath(INCLUDED[path], here or ".")
        return f"]({path}{anchor})"

    return _LINK.sub(target, text)


def on_page_markdown(markdown: str, page, config, files) -> str:
    match = _MARKER.fullmatch(markdown)
    if match is None:
        return markdown
    return _rewrite((ROOT / match.group(1)).read_text(encoding="utf-8"), page.file.src_uri)
