"""A readiness check that asks a remote: one question at a time, answered from the last second's, never a hang."""

from __future__ import annotations

import asyncio
import threading

from runtime.health import CachedCheck


class Remote:
    """A remote that answers only when the test lets it, counting the questions it was asked."""

    def __init__(self, answer: str | None = None) -> None:
        self.answer = answer
        self.asked = 0
        self.may_answer = threading.Event()

    def ask(self) -> str | None:
        self.asked += 1
        self.may_answer.wait(30)
        return self.answer


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_many_callers_of_a_silent_remote_ask_it_once_and_each_hears_it_is_not_ready() -> None:
    remote, clock = Remote(), Clock()
    check = CachedCheck(remote.ask, timeout_s=0.05, fresh_s=1.0, clock=clock)
    answers = await asyncio.gather(*(check() for _ in range(20)))
    assert answers == ["no answer within 0.05 s"] * 20 and remote.asked == 1
    clock.now += 2  # past freshness, the question still open: callers wait on it instead of asking again
    assert await check() == "no answer within 0.05 s" and remote.asked == 1
    remote.may_answer.set()
    while remote.asked == 1 and await check() is not None:
        await asyncio.sleep(0.01)
    assert await check() is None and remote.asked == 1  # the late answer replaced the silence


async def test_an_answer_serves_for_its_freshness_then_the_remote_is_asked_again() -> None:
    remote, clock = Remote("the broker does not know topic t"), Clock()
    remote.may_answer.set()
    check = CachedCheck(remote.ask, timeout_s=5.0, fresh_s=1.0, clock=clock)
    assert [await check() for _ in range(5)] == ["the broker does not know topic t"] * 5 and remote.asked == 1
    remote.answer = None
    clock.now += 0.9
    assert await check() == "the broker does not know topic t" and remote.asked == 1
    clock.now += 0.2
    assert await check() is None and remote.asked == 2


async def test_a_question_that_fails_is_an_unready_component_named_by_its_error() -> None:
    def ask() -> str | None:
        raise ConnectionRefusedError("no route")

    assert await CachedCheck(ask, timeout_s=5.0, fresh_s=1.0)() == "could not ask: ConnectionRefusedError"
