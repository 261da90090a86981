"""peertrain._prefetch: items produced in a worker thread arrive in order, errors arrive in their
place, and a consumer that stops leaves no worker running."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from peertrain._prefetch import prefetched


@given(st.lists(st.integers()), st.integers(min_value=1, max_value=5))
def test_every_item_arrives_once_in_order(items: list[int], depth: int) -> None:
    assert list(prefetched(items, depth)) == items


def test_an_error_while_producing_is_raised_in_its_place() -> None:
    def produce() -> Iterator[int]:
        yield 1
        yield 2
        raise LookupError("row 3")

    items = prefetched(produce(), 4)
    assert [next(items), next(items)] == [1, 2]
    with pytest.raises(LookupError, match="row 3"):
        next(items)


def test_the_worker_runs_at_most_depth_items_ahead() -> None:
    made = []

    def produce() -> Iterator[int]:
        for n in range(100):
            made.append(n)
            yield n

    items = prefetched(produce(), 3)
    assert next(items) == 0
    time.sleep(0.3)
    # One handed over, three waiting, one made and waiting for room.
    assert len(made) == 5
    items.close()


def test_a_consumer_that_stops_stops_the_worker_and_closes_the_source() -> None:
    closed = threading.Event()

    def produce() -> Iterator[int]:
        try:
            n = 0
            while True:
                yield n
                n += 1
        finally:
            closed.set()

    before = threading.active_count()
    items = prefetched(produce(), 2)
    assert [next(items), next(items)] == [0, 1]
    items.close()
    assert closed.is_set()  # closed before close() returned
    assert threading.active_count() == before


def test_a_consumer_error_stops_the_worker() -> None:
    def consume() -> None:
        for item in prefetched(range(10**9), 2):
            if item == 5:
                raise ZeroDivisionError(item)

    before = threading.active_count()
    with pytest.raises(ZeroDivisionError):
        consume()
    assert threading.active_count() == before


def test_nothing_runs_until_the_first_item_is_asked_for() -> None:
    made = []

    def produce() -> Iterator[int]:
        made.append(0)
        yield 0

    items = prefetched(produce(), 1)
    time.sleep(0.1)
    assert made == []
    assert list(items) == [0]


def test_depth_must_be_positive() -> None:
    with pytest.raises(ValueError, match="depth"):
        prefetched([1], 0)
