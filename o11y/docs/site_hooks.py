"""MkDocs hook: the site's home page is README.md itself, its `docs/…` links read from inside docs/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_as_home(readme: str) -> str:
    """The README links into the site as `docs/page.md`; from the site's home page the same page is `page.md`."""
    return readme.replace("](docs/", "](")


def on_page_markdown(markdown: str, page: Any, **_: Any) -> str:
    """Replaces the placeholder docs/index.md with the README, so the Quickstart has one text, not two."""
    return readme_as_home(README.read_text()) if page.file.src_uri == "index.md" else markdown
