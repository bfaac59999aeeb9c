"""Each step of the loader's chain on its own, as the loader builds it, with small inputs and no broker: what it hands
on, when it rejects, how it retries."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from functools import partial
from typing import NamedTuple

import pytest
from prometheus_client import CollectorRegistry

from ingest.kafka.ports import PolledRecord
from ingest.loading import tasks
from ingest.loading.clickhouse_sink import Inserted, InsertFailed
from ingest.loading.dead_lettering import DeadLettering
from ingest.loading.metrics import LoaderMetrics
from ingest.loading.poison_guard import PoisonGuard, PoisonLimit
from ingest.loading.positioning import start_of
from ingest.loading.rows import LARGEST_ROW_BYTES, Row, decode_row
from ingest.loading.steps.backoff import Backoff
from ingest.loading.steps.batch import Batch
from ingest.loading.steps.batching import BatchLimits, BatchStep
from ingest.loading.steps.commit import CommitOffsets
from ingest.loading.steps.message import Message
from ingest.loading.steps.run_task import RunTask
from ingest.loading.steps.run_task_in_thread import RunTaskInThread
from ingest.loading.steps.step import MessageRejected
from ingest.loading.strategy_factory import LoadingFunctions, StrategyFactory
from support.events import event_messages
from support.steps import Clock, Collect


class Polled(NamedTuple):
    """A polled record built by hand: what both Kafka clients hand the chain (`ingest.kafka.ports.PolledRecord`)."""

    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp: int | None


TOPIC = "steps"
Decoded = Message[Row | None]


def polled(partition: int, offset: int, value: bytes | None, key: bytes | None = None) -> Message[Polled]:
    return Message(partition, offset, Polled(partition, offset, key, value, None))


def messages(count: int, partition: int = 0, first_offset: int = 0) -> list[Message[Polled]]:
    pairs = event_messages(count, "steps-client")
    return [polled(partition, first_offset + i, value, key) for i, (key, value) in enumerate(pairs)]


def decode_step(after: Collect[Decoded], send: Callable[[Message[PolledRecord], str], None] = lambda m, r: None,
                guard: PoisonGuard | None = None) -> RunTask[Polled, Row]:
    """The decode step as the loader builds it: `tasks.decode` run by `RunTask`, the dead letters given to `send`."""
    return RunTask(partial(tasks.decode, decode_row, TOPIC, timedelta(minutes=5)), after,
                   DeadLettering(TOPIC, guard or PoisonGuard(), send))


def decoded(count: int, partition: int = 0, first_offset: int = 0) -> list[Decoded]:
    out = Collect[Decoded]()
    decode = decode_step(out)
    for message in messages(count, partition, first_offset):
        decode.submit(message)
    return out.items


def batching(limits: BatchLimits, after: Collect[Batch[Row]], clock: Callable[[], float],
             cut_after: dict[int, int] | None = None) -> BatchStep[Row]:
    """The batching step as the loader builds it: sized by the rows' bytes, cut after the replay ranges."""
    return BatchStep(limits, after, tasks.row_bytes, LARGEST_ROW_BYTES, cut_after or {}, clock)


def metrics() -> LoaderMetrics:
    return LoaderMetrics.create(CollectorRegistry())


# Decode


def test_decode_hands_on_rows_and_dead_letters_an_invalid_message_once_even_when_offered_again() -> None:
    letters: list[tuple[int, str]] = []
    after = Collect[Decoded]()
    decode = decode_step(after, lambda m, reason: letters.append((m.offset, reason)))
    good = messages(1)[0]
    bad = polled(0, 1, b"{not json")
    decode.submit(good)
    after.full = True
    for _ in range(3):  # rejected: the loop offers the same message again
        with pytest.raises(MessageRejected):
            decode.submit(bad)
    after.full = False
    decode.submit(bad)
    assert [(d.offset, d.payload is not None) for d in after.items] == [(0, True), (1, False)]
    assert after.items[0].payload is not None and after.items[0].payload.line.endswith(b'"kafka_offset":0}')
    assert len(letters) == 1 and letters[0][0] == 1 and "problem" in letters[0][1]


def test_decode_stops_at_the_message_that_crosses_the_dead_letter_limit_and_takes_nothing_of_it() -> None:
    letters: list[int] = []
    after = Collect[Decoded]()
    decode = decode_step(after, lambda m, r: letters.append(m.offset), PoisonGuard(max_run=2, max_share=1.0))
    decode.submit(polled(3, 10, b"x"))
    decode.submit(polled(3, 11, b"x"))
    with pytest.raises(PoisonLimit, match=r"in steps/3 up to offset 12"):
        decode.submit(polled(3, 12, b"x"))
    assert letters == [10, 11] and [d.offset for d in after.items] == [10, 11]


def test_a_new_chain_counts_invalid_messages_afresh() -> None:
    factory = strategy_factory(insert=lambda b: Inserted(0.0, 0), commit=lambda o: None, guard=lambda: PoisonGuard(max_run=1))
    first = factory.create({})
    first.submit(polled(0, 0, b"x"))
    with pytest.raises(PoisonLimit):
        first.submit(polled(0, 1, b"x"))
    second = factory.create({})  # the next assignment
    second.submit(polled(0, 1, b"x"))
    assert second.held_from(0) == 1


# Batching


def test_batches_are_cut_by_rows_and_by_age() -> None:
    clock, after = Clock(), Collect[Batch[Row]]()
    reduce = batching(BatchLimits(count=3, age_s=1.0), after, clock)
    for item in decoded(4):
        reduce.submit(item)
    assert [b.next_offsets() for b in after.items] == [{0: 3}]
    reduce.poll()
    assert len(after.items) == 1, "one row, younger than a second: not yet"
    clock.now += 1.0
    reduce.poll()
    assert [b.next_offsets() for b in after.items] == [{0: 3}, {0: 4}]


def test_a_replay_range_is_cut_exactly_at_its_end_and_never_by_age() -> None:
    clock, after = Clock(), Collect[Batch[Row]]()
    reduce = batching(BatchLimits(count=100, age_s=1.0), after, clock, {1: 12})
    items = decoded(3, partition=1, first_offset=10) + decoded(2, partition=1, first_offset=13)
    for item in items[:2]:
        reduce.submit(item)
    clock.now += 10
    reduce.poll()
    assert after.items == [], "the replayed range is still open: no cut by age"
    for item in items[2:]:
        reduce.submit(item)
    assert [b.ranges for b in after.items] == [{1: (10, 12)}], "the same block as the one that landed"
    reduce.poll()
    clock.now += 1.0
    reduce.poll()
    assert [b.ranges for b in after.items] == [{1: (10, 12)}, {1: (13, 14)}]


def test_a_full_batch_with_one_waiting_rejects_until_the_next_step_takes_it() -> None:
    after = Collect[Batch[Row]]()
    after.full = True
    reduce = batching(BatchLimits(count=2), after, Clock())
    items = decoded(5)
    for item in items[:4]:
        reduce.submit(item)  # two sealed-and-waiting, two filling
    with pytest.raises(MessageRejected):
        reduce.submit(items[4])
    assert reduce.held_from(0) == 0
    after.full = False
    reduce.poll()
    reduce.submit(items[4])
    assert [b.ranges for b in after.items] == [{0: (0, 1)}, {0: (2, 3)}]


def test_room_follows_the_byte_budget_at_the_row_size_seen() -> None:
    reduce = batching(BatchLimits(count=10_000, bytes=100_000), Collect[Batch[Row]](), Clock())
    assert reduce.room() == 2, "before any row: as if each were as large as an event may be"
    for item in decoded(10):
        reduce.submit(item)
    row_bytes = len(decoded(1)[0].payload.line)  # type: ignore[union-attr]
    assert abs(reduce.room() - (100_000 - 10 * row_bytes) // row_bytes) <= 2


# RunTaskInThread (the insert) and CommitOffsets


class FlakyInsert:
    """Fails the first `failures` inserts; records which batch each call got and on which thread."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls: list[tuple[int, str]] = []
        self.gate = threading.Event()
        self.gate.set()

    def __call__(self, batch: Batch[Row], abandoned: threading.Event) -> Inserted:
        self.gate.wait(10)
        self.calls.append((id(batch), threading.current_thread().name))
        if len(self.calls) <= self.failures:
            raise InsertFailed("ClickHouse said no")
        return Inserted(0.01, 0)


def batch_of(first: int, last: int) -> Batch[Row]:
    batch = Batch[Row]()
    for item in decoded(last - first + 1, first_offset=first):
        batch.take(item, 0, 0.0)
    return batch


def insert_step(insert: FlakyInsert, pool: ThreadPoolExecutor, backoff: Backoff,
                after: Collect[Batch[Row]] | CommitOffsets) -> RunTaskInThread[Batch[Row], Inserted]:
    """The insert step as the loader builds it: `insert` retried on `InsertFailed`, each outcome counted."""
    return RunTaskInThread(insert, pool, backoff, after, InsertFailed, partial(tasks.count, metrics()))


def test_a_failed_insert_is_retried_after_the_backoff_with_the_same_batch_then_handed_on() -> None:
    clock, after, insert = Clock(), Collect[Batch[Row]](), FlakyInsert(failures=2)
    backoff = Backoff("ClickHouse", 0.5, 30, clock)
    with ThreadPoolExecutor(1, thread_name_prefix="insert") as pool:
        step = insert_step(insert, pool, backoff, after)
        batch = batch_of(0, 4)
        step.submit(batch)
        step.wait(5)
        step.poll()
        assert backoff.failing and after.items == []
        with pytest.raises(MessageRejected):
            step.submit(batch_of(5, 6))
        step.poll()
        assert len(insert.calls) == 1, "not before the backoff"
        clock.now += 0.5
        step.poll()
        step.wait(5)
        step.poll()
        clock.now += 1.0
        step.poll()
        step.wait(5)
        step.poll()
    assert after.items == [batch] and backoff.failing is None
    assert [c[0] for c in insert.calls] == [id(batch)] * 3 and all(c[1].startswith("insert") for c in insert.calls)


def test_the_next_insert_waits_for_the_commit_of_the_previous_batch() -> None:
    clock, insert, commits = Clock(), FlakyInsert(failures=0), []
    broker_down = True

    def commit(offsets: dict[int, int]) -> None:
        if broker_down:
            raise ConnectionError("broker away")
        commits.append(offsets)

    commit_backoff = Backoff("offset commit", 0.5, 30, clock)
    with ThreadPoolExecutor(1) as pool:
        step = insert_step(insert, pool, Backoff("ClickHouse", clock=clock), CommitOffsets(commit, commit_backoff))
        step.submit(batch_of(0, 4))
        step.wait(5)
        step.poll()
        assert commit_backoff.failing == "broker away"
        step.submit(batch_of(5, 9))  # taken, but not inserted while the landed batch waits for its commit
        with pytest.raises(MessageRejected):
            step.submit(batch_of(10, 11))
        step.poll()
        assert len(insert.calls) == 1 and step.held_from(0) == 5
        broker_down = False
        clock.now += 0.5
        step.poll()
        assert step.join(5)
    assert commits == [{0: 5}, {0: 10}] and len(insert.calls) == 2, "one batch in ClickHouse uncommitted at a time"


# The chain


def strategy_factory(insert: Callable[[Batch[Row]], Inserted], commit: Callable[[dict[int, int]], None],
                     guard: Callable[[], PoisonGuard] = PoisonGuard) -> StrategyFactory:
    """The loader's factory with the decode of `tasks`, batches of three rows, and `insert` and `commit` given here."""
    clock = Clock()
    functions = LoadingFunctions(
        decode=partial(tasks.decode, decode_row, TOPIC, timedelta(minutes=5)),
        dead_letters=lambda: DeadLettering(TOPIC, guard(), lambda m, r: None),
        row_bytes=tasks.row_bytes, largest_row=LARGEST_ROW_BYTES,
        insert=lambda batch, abandoned: insert(batch), count=partial(tasks.count, metrics()), commit=commit,
        close=lambda: None,
    )
    return StrategyFactory(functions, BatchLimits(count=3, age_s=1.0), Backoff("ClickHouse", clock=clock),
                           Backoff("offset commit", clock=clock), metrics(), clock)


def test_join_inserts_and_commits_everything_held_in_order_and_terminate_drops_it() -> None:
    inserted: list[dict[int, tuple[int, int]]] = []
    commits: list[dict[int, int]] = []

    def insert(batch: Batch[Row]) -> Inserted:
        inserted.append(dict(batch.ranges))
        return Inserted(0.0, 0)

    chain = strategy_factory(insert, commits.append).create({})
    for message in messages(7, partition=2):
        chain.submit(message)
    assert chain.join(10)
    assert inserted == [{2: (0, 2)}, {2: (3, 5)}, {2: (6, 6)}]
    assert commits == [{2: 3}, {2: 6}, {2: 7}]
    assert chain.held_from(2) is None

    chain = strategy_factory(insert, commits.append).create({})
    for message in messages(2, partition=2, first_offset=7):
        chain.submit(message)
    assert chain.held_from(2) == 7
    chain.terminate()
    assert chain.held_from(2) is None and chain.join(1) and commits[-1] == {2: 7}, "nothing of it committed"


# Positioning


@pytest.mark.parametrize(
    ("committed", "last_loaded", "offset", "replay_until", "skipped"),
    [
        (None, None, None, None, 0),  # a new group on a new topic: the reset policy
        (40, None, 40, None, 0),  # nothing of it in ClickHouse (yet): from the commit
        (40, 39, 40, None, 0),  # everything loaded was committed
        (40, 45, 40, 45, 0),  # a crash between insert and commit: that exact range again
        (None, 45, 46, None, 46),  # another lineage loaded it: start after it
    ],
)
def test_where_an_assigned_partition_starts(committed: int | None, last_loaded: int | None, offset: int | None,
                                            replay_until: int | None, skipped: int) -> None:
    start = start_of(committed, last_loaded)
    assert (start.offset, start.replay_until, start.skipped) == (offset, replay_until, skipped)
