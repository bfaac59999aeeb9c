"""The batching step with plain payloads (strings, sized by their length): where batches are cut, when it rejects."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from ingest.loading.steps.batch import Batch
from ingest.loading.steps.batching import BatchLimits, BatchStep
from ingest.loading.steps.message import Message
from ingest.loading.steps.step import MessageRejected
from support.steps import Clock, Collect

LARGEST = 10


@dataclass(frozen=True)
class Case:
    limits: BatchLimits
    taken: list[tuple[int, int, str | None]]
    """(partition, offset, payload) submitted in order; None: a message without a payload (dead-lettered)."""
    later_s: float = 0.0
    """How long after the last message the step is polled."""
    cut_after: dict[int, int] = field(default_factory=dict)
    handed_on: list[tuple[list[str], dict[int, tuple[int, int]]]] = field(default_factory=list)
    """(payloads, ranges) of each batch the next step got."""


CASES = {
    "a batch is cut once it holds the count of payloads": Case(
        BatchLimits(count=2), [(0, 0, "a"), (0, 1, "b"), (0, 2, "c")], handed_on=[(["a", "b"], {0: (0, 1)})]),
    "a batch is cut once its payloads reach the size budget": Case(
        BatchLimits(count=100, bytes=4), [(0, 0, "aa"), (0, 1, "bb"), (0, 2, "c")],
        handed_on=[(["aa", "bb"], {0: (0, 1)})]),
    "messages without a payload are covered by the offsets but not counted": Case(
        BatchLimits(count=2), [(0, 0, None), (0, 1, "a"), (0, 2, None), (0, 3, "b"), (0, 4, "c")],
        handed_on=[(["a", "b"], {0: (0, 3)})]),
    "one batch covers every partition it took from": Case(
        BatchLimits(count=3), [(0, 5, "a"), (1, 9, "b"), (0, 6, "c")], handed_on=[(["a", "b", "c"], {0: (5, 6), 1: (9, 9)})]),
    "a batch as old as the age limit is handed on at the next poll": Case(
        BatchLimits(count=100, age_s=1.0), [(0, 0, "a")], later_s=1.0, handed_on=[(["a"], {0: (0, 0)})]),
    "a batch younger than the age limit is kept": Case(BatchLimits(count=100, age_s=1.0), [(0, 0, "a")], later_s=0.5),
    "a batch is cut right after an offset it is told to cut at": Case(
        BatchLimits(count=100), [(0, 0, "a"), (0, 1, "b"), (0, 2, "c")], cut_after={0: 1},
        handed_on=[(["a", "b"], {0: (0, 1)})]),
    "a batch is not cut by age while a cut is still to come in its partition": Case(
        BatchLimits(count=100, age_s=1.0), [(0, 0, "a")], later_s=10.0, cut_after={0: 5}),
    "a cut to come in another partition holds no batch back": Case(
        BatchLimits(count=100, age_s=1.0), [(0, 0, "a")], later_s=10.0, cut_after={1: 5}, handed_on=[(["a"], {0: (0, 0)})]),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_where_batches_are_cut(case: Case) -> None:
    clock, after = Clock(), Collect[Batch[str]]()
    step = BatchStep(case.limits, after, len, LARGEST, case.cut_after, clock)
    for partition, offset, payload in case.taken:
        step.submit(Message(partition, offset, payload))
    clock.now += case.later_s
    step.poll()
    assert [(b.payloads, b.ranges) for b in after.items] == case.handed_on


def test_with_one_batch_waiting_and_the_next_full_it_rejects_and_holds_both_from_their_first_offset() -> None:
    after = Collect[Batch[str]]()
    after.full = True
    step = BatchStep(BatchLimits(count=1), after, len, LARGEST, {}, Clock())
    step.submit(Message(0, 7, "a"))
    step.submit(Message(0, 8, "b"))
    with pytest.raises(MessageRejected):
        step.submit(Message(0, 9, "c"))
    assert step.held_from(0) == 7 and step.held_from(1) is None
    after.full = False
    step.poll()
    step.submit(Message(0, 9, "c"))
    assert [b.payloads for b in after.items] == [["a"], ["b"]]


def test_join_hands_on_what_is_held_and_terminate_drops_it() -> None:
    after = Collect[Batch[str]]()
    step = BatchStep(BatchLimits(count=100), after, len, LARGEST, {}, Clock())
    step.submit(Message(0, 0, "a"))
    assert step.join(1.0) and [b.payloads for b in after.items] == [["a"]]
    step.submit(Message(0, 1, "b"))
    step.terminate()
    assert after.terminated and step.held_from(0) is None and step.join(1.0) and len(after.items) == 1


@pytest.mark.parametrize(
    ("taken", "room"),
    [([], 11), (["aa", "aa"], 49)],
    ids=["before any payload, room assumes each as large as the largest",
         "once payloads were seen, room follows their average size"],
)
def test_room_is_what_still_fits_the_size_budget(taken: list[str], room: int) -> None:
    step = BatchStep(BatchLimits(count=1000, bytes=100), Collect[Batch[str]](), len, LARGEST, {}, Clock())
    for offset, payload in enumerate(taken):
        step.submit(Message(0, offset, payload))
    assert step.room() == room
