"""Where a command asks: the running `o11y dev`/`o11y api` through its read API, else ClickHouse itself.

With a token (`O11Y_TOKEN`, else the admin token `o11y dev` wrote to `var/dev-admin-token`) and an API answering on the
dev API port (`O11Y_API_PORT`, default `O11Y_HTTP_PORT + 1`), a command goes through the API: the only way in while
`o11y dev` holds its embedded chDB. Otherwise it opens ClickHouse: `O11Y_CLICKHOUSE_URL`, else `o11y dev`'s `var/chdb`.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from runtime.settings import Settings

T = TypeVar("T")


class CommandError(Exception):
    """One line for the terminal; the command exits 2."""


class ApiUnreachable(Exception):
    """Nothing answers at the API's address (the request never reached a server)."""


@dataclass(frozen=True)
class Api:
    url: str
    token: str

    def call(self, method: str, path: str, body: Any = None, timeout_s: float = 90) -> bytes:
        """The answer's bytes; an HTTP error becomes a CommandError with the API's reasons."""
        data = json.dumps(body, default=str).encode() if body is not None else None
        headers = {"Authorization": f"Bearer {self.token}", **({"Content-Type": "application/json"} if data else {})}
        request = urllib.request.Request(self.url.rstrip("/") + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=timeout_s) as answer:
                found: bytes = answer.read()
                return found
        except urllib.error.HTTPError as err:
            raise CommandError(problem(err.code, err.read())) from None
        except TimeoutError:
            raise CommandError(f"{self.url} gave no answer within {timeout_s:g} s") from None
        except urllib.error.URLError as err:
            if isinstance(err.reason, TimeoutError):
                raise CommandError(f"{self.url} gave no answer within {timeout_s:g} s") from None
            raise ApiUnreachable(f"cannot reach {self.url}: {err.reason}") from None
        except ConnectionError as err:
            raise ApiUnreachable(f"cannot reach {self.url}: {err}") from None

    def json(self, method: str, path: str, body: Any = None, timeout_s: float = 90) -> Any:
        return json.loads(self.call(method, path, body, timeout_s))


def problem(status: int, body: bytes) -> str:
    """`403: a read token cannot change anything…`: the status, the API's error and its reasons."""
    try:
        answer = json.loads(body)
        issues = answer.get("issues") or []
        return f"{status}: {answer.get('error', '')}{': ' if issues else ''}{'; '.join(map(str, issues))}"
    except (ValueError, AttributeError):
        return f"{status}: {body[:200].decode(errors='replace')}"


def token(settings: Settings) -> str | None:
    found = os.environ.get("O11Y_TOKEN", "").strip()
    if found:
        return found
    path = settings.data_dir / "dev-admin-token"
    return (path.read_text().strip() or None) if path.is_file() else None


def dev_api(settings: Settings) -> Api | None:
    """The dev API with a token, or None when there is no token to send."""
    found = token(settings)
    return Api(settings.local_url(settings.dev_api_port()), found) if found else None


def clickhouse_url(settings: Settings) -> str:
    if settings.clickhouse_url:
        return settings.clickhouse_url
    embedded = settings.data_dir / "chdb"
    if not embedded.is_dir():
        where = settings.local_url(settings.dev_api_port())
        raise CommandError(f"nothing to ask: no o11y dev/api answers at {where} and neither O11Y_CLICKHOUSE_URL nor "
                           f"{embedded} exists")
    return f"chdb://{embedded.resolve()}"


@contextmanager
def _stderr_held() -> Iterator[None]:
    """chDB prints its own error lines to the process's stderr (fd 2) beside the exception it raises: keep them from the
    terminal while opening, and pass them on only when opening worked (a failure becomes one friendly line)."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        held.seek(0)
        sys.stderr.buffer.write(held.read())
        sys.stderr.flush()


def connect_quietly(url: str) -> Any:
    """A ClickHouse client, or a CommandError with one line (never chDB's raw exception text)."""
    from runtime.clickhouse import ClickHouseUnavailable, connect

    try:
        with _stderr_held():
            return connect(url)
    except ClickHouseUnavailable as err:
        raise CommandError(str(err)) from None


def open_clickhouse(settings: Settings) -> Any:
    """ClickHouse on the current schema, for commands that read or change o11y's tables themselves."""
    from storage.schema import require_schema

    client = connect_quietly(clickhouse_url(settings))
    with clickhouse_errors():
        require_schema(client)
    return client


@contextmanager
def clickhouse_errors() -> Iterator[None]:
    """A ClickHouse that refuses or cannot answer ends the command with one line, not a traceback."""
    from clickhouse_connect.driver.exceptions import ClickHouseError

    from api.sql_api import first_line

    try:
        yield
    except RuntimeError as err:  # an older schema: the message says what to do
        raise CommandError(str(err)) from None
    except ClickHouseError as err:
        raise CommandError(f"ClickHouse could not answer ({type(err).__name__}): {first_line(err)}") from None


def through_api_or_clickhouse(settings: Settings, via_api: Callable[[Api], T], direct: Callable[[Any], T]) -> T:
    """`via_api` when the dev API answers, else `direct` with ClickHouse opened."""
    api = dev_api(settings)
    if api is not None:
        try:
            return via_api(api)
        except ApiUnreachable:
            pass
    client = open_clickhouse(settings)
    with clickhouse_errors():
        return direct(client)
