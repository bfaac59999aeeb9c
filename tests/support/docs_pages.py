"""The documentation site's pages, for the tests that hold them to the code: where they are, their code blocks."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"


def doc_page(relative: str) -> str:
    """A page of the site by its path under docs/, e.g. `analysts/example-queries.md`."""
    return (DOCS / relative).read_text()


def code_blocks(text: str, language: str) -> list[str]:
    """The fenced code blocks of one language, in order."""
    return re.findall(rf"```{language}\n(.*?)```", text, flags=re.S)
