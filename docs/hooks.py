"""MkDocs hook: the repository's own Markdown in the site, with its links rewritten for it.

- A page whose whole text is ``<!-- include PATH -->`` gets the file ``PATH`` (relative to the repository
  root: ``BENCHMARKS.md``, ``RESULTS.md``, ``scripts/README.md``).
- A line ``--8<-- "README.md:NAME"`` gets the README's section between ``<!-- --8<-- [start:NAME] -->``
  and ``<!-- --8<-- [end:NAME] -->``, so the README and the site share one text.

Links to ``docs/…`` and to the included files are made relative to the page.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
INCLUDED = {"BENCHMARKS.md": "benchmarks/measurements.md", "RESULTS.md": "benchmarks/results.md",
            "scripts/README.md": "benchmarks/scripts.md"}
_MARKER = re.compile(r"\s*<!-- include (\S+) -->\s*")
_SECTION = re.compile(r'^--8<-- "README\.md:([\w-]+)"$', re.MULTILINE)
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


def readme_section(name: str) -> str:
    """The README's text between its ``[start:name]`` and ``[end:name]`` markers."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start, end = f"<!-- --8<-- [start:{name}] -->\n", f"\n<!-- --8<-- [end:{name}] -->"
    if start not in text or end not in text:
        raise ValueError(f"README.md has no section '{name}' (markers {start.strip()} … {end.strip()})")
    return text.split(start, 1)[1].split(end, 1)[0]


def on_page_markdown(markdown: str, page, config, files) -> str:
    match = _MARKER.fullmatch(markdown)
    if match is not None:
        return _rewrite((ROOT / match.group(1)).read_text(encoding="utf-8"), page.file.src_uri)
    return _SECTION.sub(lambda m: _rewrite(readme_section(m.group(1)), page.file.src_uri), markdown)
