"""Producing the items of an iterable in a worker thread while the caller consumes them.

For work that is two stages neither of which holds Python's lock most of the time (polars
classifying a batch of rows while SQLite stores the previous ones): on two cores they then run at
the same time. The items arrive in order; an exception raised while producing them is raised to
the consumer, in its place; a consumer that stops early (an exception, ``close()``) stops the
worker and waits for it, so that nothing of the iterable runs after :func:`prefetched` has
returned.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

__all__ = ["prefetched"]

T = TypeVar("T")

_END = object()
#: How often a worker waiting for room checks whether the consumer has stopped (seconds).
_POLL = 0.05


def prefetched(items: Iterable[T], depth: int) -> Iterator[T]:
    """The items of ``items`` in order, each produced by a worker thread up to ``depth`` items
    before the consumer asks for it (the worker starts when the first item is asked for)."""
    if depth < 1:
        raise ValueError(f"depth must be at least 1, not {depth}")
    return _prefetch(items, depth)


def _prefetch(items: Iterable[T], depth: int) -> Iterator[T]:
    ready: queue.Queue[tuple[bool, Any]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: tuple[bool, Any]) -> bool:
        while not stop.is_set():
            try:
                ready.put(item, timeout=_POLL)
            except queue.Full:
                continue
            return True
        return False

    def work() -> None:
        source = iter(items)
        try:
            for item in source:
                if not put((True, item)):
                    return
            put((True, _END))
        except BaseException as exc:  # handed to the consumer, which raises it
            put((False, exc))
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()

    worker = threading.Thread(target=work, name="peertrain-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            produced, item = ready.get()
            if not produced:
                raise item
            if item is _END:
                return
            yield item
    finally:
        stop.set()
        worker.join()
