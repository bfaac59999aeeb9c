"""Running the aiohttp applications until SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from o11y.logs import configure_logging
from o11y.settings import Settings

log = logging.getLogger(__name__)


def _install_uvloop() -> None:
    try:
        import uvloop  # type: ignore[import-not-found]
    except ImportError:
        return
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


def serve_ingest(settings: Settings) -> int:
    from ingest.app import create_app

    configure_logging(settings.log_level)
    _install_uvloop()
    try:
        app = create_app(settings)
    except ValueError as err:
        log.error("cannot start ingest: %s", err)
        return 2
    log.info("ingest listening on http://%s:%d", settings.http_host, settings.http_port)
    web.run_app(app, host=settings.http_host, port=settings.http_port, access_log=None,
                shutdown_timeout=10, print=None)
    return 0
