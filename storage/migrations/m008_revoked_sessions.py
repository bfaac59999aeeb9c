"""Version 8: signed-out page sessions, refused by every `o11y api` process."""

from storage.migrations.migration import Migration
from storage.sessions import REVOKED_SESSIONS
from storage.table import Retention


def migration(retention: Retention) -> Migration:
    return Migration(8, "signed-out page sessions, refused by every o11y api process", (REVOKED_SESSIONS.create(retention),))
