"""The schema as numbered versions, one module each (`mNNN_what.py`, found by their names); `o11y migrate` applies the
missing ones in order.

A migration creates tables from their declarations (`CREATE TABLE IF NOT EXISTS`: an install that starts at a later
version gets each table whole, and the `ADD COLUMN IF NOT EXISTS` of a later version finds it there), adds views and
backfills them from what is already stored. Never edit an applied version: add the next one. Imports storage/ and
schemas/ only.
"""

from __future__ import annotations

import importlib
import pkgutil
import re

from storage.migrations.migration import Migration
from storage.table import Retention

_MODULE = re.compile(r"m(\d{3})_\w+")
VERSIONS = sorted(info.name for info in pkgutil.iter_modules(__path__) if _MODULE.fullmatch(info.name))
"""The migration modules, in version order."""


def migrations(retention: Retention) -> tuple[Migration, ...]:
    found = tuple(importlib.import_module(f"{__name__}.{name}").migration(retention) for name in VERSIONS)
    numbers = [m.version for m in found]
    assert numbers == list(range(1, len(found) + 1)), f"migration versions must run 1, 2, … without a gap: {numbers}"
    return found


__all__ = ["Migration", "migrations"]
