"""The dead-letter limit on its own: runs and shares of invalid messages per partition."""

from __future__ import annotations

import pytest

from ingest.loading.poison_guard import PoisonGuard, PoisonLimit


def feed(guard: PoisonGuard, partition: int, pattern: str, start: int = 0) -> None:
    for i, mark in enumerate(pattern):
        guard.check("t", partition, start + i, invalid=mark == "x")


def test_a_run_longer_than_the_limit_stops_at_the_message_that_crosses_it() -> None:
    guard = PoisonGuard(max_run=3, max_share=1.0, window=10)
    feed(guard, 0, "..xxx.xxx.")  # runs of three are dead-lettered
    with pytest.raises(PoisonLimit, match=r"4 invalid messages in a row in t/0 up to offset 13"):
        feed(guard, 0, "xxxx", start=10)


def test_partitions_count_apart() -> None:
    guard = PoisonGuard(max_run=2, max_share=1.0, window=10)
    feed(guard, 0, "xx")
    feed(guard, 1, "xx")
    feed(guard, 0, ".xx")
    with pytest.raises(PoisonLimit, match="t/1"):
        feed(guard, 1, "x")


def test_a_share_above_the_limit_over_a_full_window_stops() -> None:
    guard = PoisonGuard(max_run=100, max_share=0.5, window=10)
    feed(guard, 0, "x.x.x.x.x.")  # exactly half: allowed
    feed(guard, 0, ".x")  # the window slides: still half
    with pytest.raises(PoisonLimit, match=r"60% of the last 10 messages of t/0 up to offset 13"):
        feed(guard, 0, "xx", start=12)


def test_a_share_is_not_judged_before_the_window_is_full() -> None:
    guard = PoisonGuard(max_run=100, max_share=0.5, window=10)
    feed(guard, 0, "xxxxxxxxx")  # nine of nine, but only nine seen
    with pytest.raises(PoisonLimit):
        feed(guard, 0, "x", start=9)
