"""One JSON POST with a timeout, its answer classified: taken, refused for good, to try again, or unknown."""

from __future__ import annotations

import json
import time
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.error import HTTPError, URLError

from alerting.receivers.channels import Sent

RETRY_PAUSE_S = 1.0
"""The pause before the one retry within a tick, when neither an answer's Retry-After nor the deadline forbids it."""


@dataclass(frozen=True)
class Answer:
    status: int
    """0: no answer."""
    body: str
    retry_after: float | None = None
    sent: bool = True
    """False when the request certainly never left (refused connection, unknown host)."""
    error: str = ""


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer, never followed: following it would carry the body and the credential elsewhere."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


def redact(text: str, *secrets: str) -> str:
    """An answer as it may be logged and stored: a receiver that echoes a credential back does not get it written."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[redacted]")
    return text


def post_json(url: str, body: dict[str, Any], headers: dict[str, str], timeout_s: float) -> Answer:
    """Never raises; the URL is not in any answer (it may hold a credential)."""
    data = json.dumps(body, ensure_ascii=False).encode()
    request = urllib.request.Request(url, data=data, method="POST",
                                     headers={"Content-Type": "application/json", "User-Agent": "o11y", **headers})
    try:
        with _OPENER.open(request, timeout=timeout_s) as response:
            return Answer(response.status, response.read(65_536).decode(errors="replace"))
    except HTTPError as err:
        text = err.read(65_536).decode(errors="replace") if err.fp is not None else ""
        return Answer(err.code, text, _seconds(err.headers.get("Retry-After")))
    except URLError as err:  # urllib wraps what fails before the request is sent: connecting, resolving the host
        return Answer(0, "", sent=False, error=type(err.reason).__name__)
    except Exception as err:  # noqa: BLE001 - the request went out and no answer came
        return Answer(0, "", error=type(err).__name__)


def _seconds(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


def within(timeout_s: float, deadline: float) -> float:
    """A request's timeout that ends by the tick's deadline (at least a tenth of a second: a try is a try)."""
    return max(0.1, min(timeout_s, deadline - time.monotonic()))


def may_retry(answer: Answer, deadline: float, timeout_s: float) -> bool:
    """Whether a second try fits in this tick, after the pause it needs: a 5xx or a refused connection after a second,
    a 429 after its Retry-After (without one, as PagerDuty's, the next tick tries again)."""
    throttled = answer.status == 429 and answer.retry_after is not None
    retryable = throttled or answer.status >= 500 or not answer.sent
    pause = answer.retry_after if throttled and answer.retry_after is not None else RETRY_PAUSE_S
    if not retryable or time.monotonic() + pause + timeout_s > deadline:
        return False
    time.sleep(pause)
    return True


def post_within(url: str, body: dict[str, Any], headers: dict[str, str], timeout_s: float, deadline: float) -> Answer:
    """The POST, and once more when `may_retry` allows it before the tick's deadline."""
    answer = post_json(url, body, headers, within(timeout_s, deadline))
    if may_retry(answer, deadline, timeout_s):
        answer = post_json(url, body, headers, within(timeout_s, deadline))
    return answer


def classify(answer: Answer, taken: str) -> Sent:
    """2xx: delivered; 429, 5xx and connections refused: failed (next tick); other 4xx: rejected; no answer: unconfirmed."""
    if 200 <= answer.status < 300:
        return Sent("delivered", taken or str(answer.status))
    if answer.status == 0:
        if not answer.sent:
            return Sent("failed", f"unreachable ({answer.error})")
        return Sent("unconfirmed", f"no answer ({answer.error or 'timeout'})")
    words = f"HTTP {answer.status}{_detail(answer.body)}"
    return Sent("failed", words) if answer.status == 429 or answer.status >= 500 else Sent("rejected", words)


def _detail(body: str) -> str:
    """The part of an error answer worth logging: PagerDuty's `errors`, or the first words of the body."""
    try:
        parsed = json.loads(body)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict) and isinstance(parsed.get("errors"), list):
        return ": " + "; ".join(str(e) for e in parsed["errors"])[:300]
    text = " ".join(body.split())[:120]
    return f": {text}" if text else ""
