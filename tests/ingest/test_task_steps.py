"""Running tasks and committing, with plain payloads: what each step hands on, tells, retries and commits."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from ingest.loading.steps.backoff import Backoff
from ingest.loading.steps.batch import Batch
from ingest.loading.steps.commit import CommitOffsets
from ingest.loading.steps.message import Message
from ingest.loading.steps.run_task import RunTask
from ingest.loading.steps.run_task_in_thread import RunTaskInThread
from ingest.loading.steps.step import InvalidMessage, MessageRejected
from support.steps import Clock, Collect


def number(message: Message[str]) -> int:
    if not message.payload.isdigit():
        raise InvalidMessage(f"{message.payload!r} is not a number")
    return int(message.payload)


class Letters:
    """A dead-letter policy that keeps what it is told, and stops at the first invalid message past `limit`."""

    def __init__(self, limit: int = 100) -> None:
        self.valid_offsets: list[int] = []
        self.sent: list[tuple[int, str]] = []
        self._limit = limit

    def valid(self, message: Message[str]) -> None:
        self.valid_offsets.append(message.offset)

    def invalid(self, message: Message[str], error: InvalidMessage) -> None:
        if len(self.sent) >= self._limit:
            raise RuntimeError("dead-letter limit")
        self.sent.append((message.offset, error.reason))


@pytest.mark.parametrize(
    ("payload", "handed_on", "sent"),
    [("42", 42, []), ("x", None, [(7, "'x' is not a number")])],
    ids=["a result is handed on with the message's partition and offset",
         "an invalid message is dead-lettered and handed on without a payload, so its offset still counts"],
)
def test_run_task(payload: str, handed_on: int | None, sent: list[tuple[int, str]]) -> None:
    after, letters = Collect[Message[int | None]](), Letters()
    RunTask(number, after, letters).submit(Message(3, 7, payload))
    assert after.items == [Message(3, 7, handed_on)] and letters.sent == sent
    assert letters.valid_offsets == ([7] if handed_on is not None else [])


def test_an_invalid_message_without_a_dead_letter_policy_stops_the_caller() -> None:
    with pytest.raises(InvalidMessage, match="not a number"):
        RunTask(number, Collect[Message[int | None]]()).submit(Message(0, 0, "x"))


def test_a_message_offered_again_after_a_rejection_is_computed_and_dead_lettered_once() -> None:
    calls: list[int] = []

    def counted(message: Message[str]) -> int:
        calls.append(message.offset)
        return number(message)

    after, letters = Collect[Message[int | None]](), Letters()
    step = RunTask(counted, after, letters)
    after.full = True
    for _ in range(3):
        with pytest.raises(MessageRejected):
            step.submit(Message(0, 5, "x"))
    after.full = False
    step.submit(Message(0, 5, "x"))
    assert calls == [5] and letters.sent == [(5, "'x' is not a number")] and after.items == [Message(0, 5, None)]


def test_the_message_that_crosses_the_dead_letter_limit_is_not_taken() -> None:
    after, letters = Collect[Message[int | None]](), Letters(limit=1)
    step = RunTask(number, after, letters)
    step.submit(Message(0, 0, "x"))
    with pytest.raises(RuntimeError, match="dead-letter limit"):
        step.submit(Message(0, 1, "y"))
    assert after.items == [Message(0, 0, None)]


class Task:
    """Fails `failures` times, then returns the batch's payloads joined; waits for `gate` first."""

    def __init__(self, failures: int = 0) -> None:
        self.failures, self.abandoned, self.threads = failures, False, set[str]()
        self.gate = threading.Event()
        self.gate.set()

    def __call__(self, batch: Batch[str], abandoned: threading.Event) -> str:
        self.gate.wait(10)
        self.abandoned = abandoned.is_set()
        self.threads.add(threading.current_thread().name)
        if self.failures:
            self.failures -= 1
            raise ConnectionError("down")
        return "".join(batch.payloads)


def batch(*payloads: str, partition: int = 0) -> Batch[str]:
    taken = Batch[str]()
    for offset, payload in enumerate(payloads):
        taken.take(Message(partition, offset, payload), len(payload), 0.0)
    return taken


def test_an_item_is_handed_on_once_its_task_returned_and_the_outcome_told_first() -> None:
    told: list[tuple[str, str | Exception]] = []
    clock, after, task = Clock(), Collect[Batch[str]](), Task(failures=1)
    backoff = Backoff("the task", 0.5, 30, clock)
    with ThreadPoolExecutor(1, thread_name_prefix="worker") as pool:
        step = RunTaskInThread(task, pool, backoff, after, ConnectionError,
                               lambda b, outcome: told.append(("".join(b.payloads), outcome)))
        item = batch("a", "b")
        step.submit(item)
        with pytest.raises(MessageRejected):
            step.submit(batch("c"))
        step.wait(5)
        step.poll()
        assert after.items == [] and backoff.failing == "down" and step.held_from(0) == 0
        clock.now += 0.5
        assert step.join(5)
    assert after.items == [item] and backoff.failing is None and task.threads == {"worker_0"}
    assert [(payloads, str(outcome)) for payloads, outcome in told] == [("ab", "down"), ("ab", "ab")]


def test_an_exception_that_is_not_retried_comes_out_of_poll() -> None:
    with ThreadPoolExecutor(1) as pool:
        step = RunTaskInThread(Task(failures=1), pool, Backoff("the task"), Collect[Batch[str]](), ValueError)
        step.submit(batch("a"))
        step.wait(5)
        with pytest.raises(ConnectionError):
            step.poll()


def test_a_running_task_is_told_when_its_partitions_are_revoked() -> None:
    task = Task()
    task.gate.clear()
    with ThreadPoolExecutor(1) as pool:
        step = RunTaskInThread(task, pool, Backoff("the task"), Collect[Batch[str]](), ConnectionError)
        step.submit(batch("a"))
        step.terminate()
        task.gate.set()
    assert task.abandoned and step.held_from(0) is None


def test_commit_gets_the_offset_after_each_partitions_last_and_rejects_while_a_commit_fails() -> None:
    commits: list[dict[int, int]] = []
    failures = [ConnectionError("broker away")]

    def commit(offsets: dict[int, int]) -> None:
        if failures:
            raise failures.pop()
        commits.append(offsets)

    clock = Clock()
    backoff = Backoff("offset commit", 0.5, 30, clock)
    step = CommitOffsets(commit, backoff)
    both = batch("a", "b", partition=2)
    both.take(Message(5, 40, "c"), 1, 0.0)
    step.submit(both)
    step.poll()
    with pytest.raises(MessageRejected):
        step.submit(Message(2, 2, "d"))
    assert backoff.failing == "broker away" and commits == []
    clock.now += 0.5
    step.poll()
    step.submit(Message(2, 2, "d"))
    assert step.join(1.0) and commits == [{2: 2, 5: 41}, {2: 3}]


@pytest.mark.parametrize(
    ("failures", "wait_s"),
    [(1, 0.5), (2, 1.0), (3, 2.0), (10, 4.0)],
    ids=["the first failure waits the initial delay", "each further failure doubles it", "and doubles again",
         "but never past the maximum"],
)
def test_backoff(failures: int, wait_s: float) -> None:
    clock = Clock()
    backoff = Backoff("the task", 0.5, 4.0, clock)
    for _ in range(failures):
        backoff.failed(ConnectionError("down"))
    assert backoff.wait_s() == wait_s and not backoff.due()
    clock.now += wait_s
    assert backoff.due()
    backoff.succeeded()
    assert backoff.failing is None and backoff.wait_s() == 0.0
