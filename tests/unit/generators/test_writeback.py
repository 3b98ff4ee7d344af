"""Syncing a lake file while it is written: the bytes stay the file's, a sync error is raised."""

from __future__ import annotations

import os

import pytest

from winter_days.generators.jobs import EarlyWriteback


def test_syncing_as_the_file_grows_keeps_every_byte_in_order(tmp_path):
    path = tmp_path / "part.jsonl"
    with path.open("wb") as out:
        writeback = EarlyWriteback(out, every=10)
        for i in range(50):
            line = f'{{"n":{i}}}\n'.encode()
            out.write(line)
            writeback.wrote(len(line))
        writeback.finish()
    assert path.read_text().splitlines() == [f'{{"n":{i}}}' for i in range(50)]


def test_a_failed_sync_is_raised_not_lost(tmp_path):
    read_end, write_end = os.pipe()  # a pipe cannot be synced: fdatasync fails with EINVAL
    with os.fdopen(read_end, "rb"), os.fdopen(write_end, "wb") as out:
        writeback = EarlyWriteback(out, every=1)
        out.write(b"x")
        writeback.wrote(1)
        with pytest.raises(OSError):
            writeback.finish()


def test_a_writer_without_a_descriptor_is_left_alone():
    import io

    out = io.BytesIO()
    writeback = EarlyWriteback(out, every=1)
    out.write(b"abc")
    writeback.wrote(3)
    writeback.finish()
    assert out.getvalue() == b"abc"
