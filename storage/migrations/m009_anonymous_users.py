"""Version 9: anonymous users' ids (which carry their IP address) stored as `anonymous`, older rows rewritten."""

from schemas.usage_columns import ANONYMOUS_PREFIX, ANONYMOUS_USER
from storage.events import API_METRICS
from storage.migrations.migration import Migration
from storage.table import Retention


def migration(retention: Retention) -> Migration:
    return Migration(9, "anonymous users' ids without their IP address", (
        f"ALTER TABLE {API_METRICS} UPDATE kilo_user_id = '{ANONYMOUS_USER}' "
        f"WHERE (is_anonymous OR startsWith(kilo_user_id, '{ANONYMOUS_PREFIX}')) AND kilo_user_id != '{ANONYMOUS_USER}' "
        "SETTINGS mutations_sync = 1",
        API_METRICS.comments(),
    ))
