"""Log lines on stderr: JSON for services (one object a line), text for a person at a console (`o11y dev`)."""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """`16:05:07 warning alerting.evaluation.evaluator: message` — short enough to read beside the service's own output."""

    def format(self, record: logging.LogRecord) -> str:
        when = datetime.fromtimestamp(record.created, timezone.utc).strftime("%H:%M:%S")
        line = f"{when} {record.levelname.lower():<7} {record.name}: {record.getMessage()}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


NOISY = ("kafka", "posthog", "aiohttp.access", "apscheduler", "urllib3", "clickhouse_connect")
"""Libraries whose INFO lines say nothing an operator needs (a scheduler announcing each run, say)."""


def configure_logging(level: str = "INFO", fmt: str | None = None, default: str = "json") -> None:
    """Log to stderr as `fmt` (O11Y_LOG_FORMAT), or as the command's `default` when it is not set."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(TextFormatter() if (fmt or default) == "text" else JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in NOISY:
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
