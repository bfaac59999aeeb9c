"""Best-effort copy of accepted events to PostHog, off the request path."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

from schemas.api_metrics import ApiMetricsParams

log = logging.getLogger(__name__)

EVENT_NAME = "o11y_api_metrics"


class CaptureClient(Protocol):
    def capture(self, event: str, **kwargs: Any) -> Any: ...


def posthog_properties(event: ApiMetricsParams, client_name: str) -> dict[str, Any]:
    """The event without its secret and IP, plus who sent it; the IP only as `$ip` for GeoIP."""
    properties = event.model_dump(by_alias=True, exclude={"client_secret", "ip_address"}, exclude_none=True)
    properties["clientName"] = client_name
    properties["$process_person_profile"] = not event.is_anonymous
    if event.ip_address is not None:
        properties["$ip"] = event.ip_address
    return properties


class PostHogForwarder:
    """`capture` only enqueues; the SDK's own thread sends and reports failures to `on_failure`."""

    def __init__(self, client: CaptureClient, on_failure: Callable[[int], None]) -> None:
        self._client = client
        self._on_failure = on_failure

    def forward(self, event: ApiMetricsParams, client_name: str) -> None:
        try:
            admitted = self._client.capture(
                EVENT_NAME, distinct_id=event.kilo_user_id, properties=posthog_properties(event, client_name)
            )
        except Exception as err:  # noqa: BLE001 - analytics must never change the HTTP answer
            log.warning("PostHog capture failed: %s", type(err).__name__)
            admitted = None
        if admitted is None:
            self._on_failure(1)


def build_posthog_client(api_key: str, host: str, on_failure: Callable[[int], None]) -> Any:
    from posthog import Posthog

    def report(error: Exception, batch: list[Any]) -> None:
        log.warning("PostHog delivery failed for %d events: %s", len(batch), type(error).__name__)
        on_failure(len(batch))

    return Posthog(api_key, host=host, on_error=report, disable_geoip=False, max_retries=2, timeout=5)
