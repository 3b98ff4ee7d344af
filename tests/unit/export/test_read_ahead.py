"""read_ahead: items and their preparation from a background thread, in order; errors
raised where they happened; a loop that stops early stops the thread."""

from __future__ import annotations

import itertools
import threading

import pytest

from winter_days.export.read_ahead import prepare_ahead, read_ahead


def test_items_come_in_order_with_what_was_prepared_for_each():
    assert list(prepare_ahead(range(7), lambda n: n * n, depth=2)) == [(n, n * n) for n in range(7)]


def test_preparation_runs_outside_the_loop_thread():
    threads = {name for _, name in prepare_ahead(range(3), lambda _: threading.current_thread().name)}
    assert threads == {"read-ahead"}


def test_a_source_error_is_raised_after_the_items_before_it():
    def pages():
        yield 1
        yield 2
        raise OSError("store went away")

    seen = []
    with pytest.raises(OSError, match="store went away"):
        for item in read_ahead(pages()):
            seen.append(item)
    assert seen == [1, 2]


def test_a_preparation_error_is_raised_at_its_item():
    def prepare(n: int) -> int:
        if n == 3:
            raise ValueError("page 3 does not parse")
        return n

    seen = []
    with pytest.raises(ValueError, match="page 3"):
        for item, _ in prepare_ahead(range(10), prepare):
            seen.append(item)
    assert seen == [0, 1, 2]


def test_a_loop_that_stops_early_stops_the_reader_of_an_endless_source():
    before = threading.active_count()
    taken = []
    for item in read_ahead(itertools.count(), depth=1):
        taken.append(item)
        if item == 4:
            break
    assert taken == [0, 1, 2, 3, 4]
    assert threading.active_count() == before


def test_depth_must_be_positive():
    with pytest.raises(ValueError, match="at least 1"):
        list(prepare_ahead([1], str, depth=0))


def test_stages_chain_and_an_error_of_the_first_stage_reaches_the_loop():
    def pages():
        yield from range(3)
        raise OSError("page 3 unreadable")

    seen = []
    with pytest.raises(OSError, match="page 3"):
        for item, doubled in prepare_ahead(read_ahead(pages()), lambda n: 2 * n):
            seen.append((item, doubled))
    assert seen == [(0, 0), (1, 2), (2, 4)]


def test_a_loop_that_stops_early_stops_every_chained_stage():
    before = threading.active_count()
    read = read_ahead(itertools.count(), depth=1)  # still referenced, as export_sales keeps it
    stages = prepare_ahead(read, lambda n: -n, depth=1)
    assert [next(stages) for _ in range(3)] == [(0, 0), (1, -1), (2, -2)]
    stages.close()
    assert threading.active_count() == before
    assert read.gi_frame is None  # the first stage was closed too
