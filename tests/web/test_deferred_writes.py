"""Rows a transaction defers to its next statement or its COMMIT (``safeguard.web.dbbackends``).

Issue 10 (R-IR-5, R-OPS-8), decision 0280. The buffer itself, without a database: order,
chunks, and a write that fails.
"""

from __future__ import annotations

import pytest

from safeguard.web.dbbackends import PendingRows


def test_rows_are_written_in_the_order_added_and_only_once():
    written: list[list[int]] = []
    rows = PendingRows(written.append, chunk=10)
    for i in range(3):
        rows.add(i)
    assert written == []
    rows.flush()
    rows.flush()  # nothing left: no second write
    assert written == [[0, 1, 2]]


def test_a_full_chunk_is_written_at_once_and_the_rest_waits():
    written: list[list[int]] = []
    rows = PendingRows(written.append, chunk=4)
    for i in range(10):
        rows.add(i)
    assert written == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert rows.held == [8, 9]
    rows.flush()
    assert [r for chunk in written for r in chunk] == list(range(10))


def test_discarded_rows_are_never_written():
    written: list[list[int]] = []
    rows = PendingRows(written.append, chunk=4)
    rows.add(1)
    rows.discard()
    rows.flush()
    assert written == []


def test_a_write_that_fails_holds_nothing_back_for_a_second_attempt():
    # a failed write fails its transaction, which is rolled back: the rows must not be
    # written again into the next transaction
    calls: list[list[int]] = []

    def write(batch: list[int]) -> None:
        calls.append(batch)
        raise OSError("the database went away")

    rows = PendingRows(write, chunk=8)
    rows.add(1)
    with pytest.raises(OSError, match="went away"):
        rows.flush()
    rows.flush()
    assert calls == [[1]]


def test_a_chunk_below_one_is_refused():
    with pytest.raises(ValueError, match="at least 1"):
        PendingRows(lambda rows: None, chunk=0)
