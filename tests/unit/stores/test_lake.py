"""The local lake: the shared Lake contract, plus what only a folder shows."""

from __future__ import annotations

import threading

import pytest
from contracts.lake import LakeContract

from winter_days.stores import LakeImmutableError, LocalLake


@pytest.fixture
def lake(tmp_path) -> LocalLake:
    return LocalLake(tmp_path / "lake")


class TestLocalLake(LakeContract):
    pass


def test_a_failed_write_leaves_no_temp_file_behind(lake, tmp_path):
    lake.put("bronze/clickstream/d.jsonl", b"same")
    other = tmp_path / "other.jsonl"
    other.write_bytes(b"different")
    with pytest.raises(LakeImmutableError):
        lake.put_file("bronze/clickstream/d.jsonl", other)
    with pytest.raises(RuntimeError):
        with lake.writer("bronze/sales/big.parquet") as handle:
            handle.write(b"half a file")
            raise RuntimeError("crash mid-write")
    assert sorted(p.name for p in (lake.root / "bronze").rglob("*") if p.is_file()) == ["d.jsonl"]


def test_concurrent_readers_see_whole_files_only(lake):
    payloads = [bytes([i]) * 200_000 for i in range(1, 30)]
    seen: list[bytes] = []
    stop = threading.Event()

    def read_loop():
        while not stop.is_set():
            if lake.exists("mlops/current.bin"):
                seen.append(lake.get("mlops/current.bin"))

    reader = threading.Thread(target=read_loop)
    reader.start()
    for payload in payloads:
        lake.put("mlops/current.bin", payload)
    stop.set()
    reader.join()
    assert seen, "the reader never ran"
    assert all(data in payloads for data in seen)


def test_the_local_platform_keeps_the_lake_at_lake_uri(settings, platform):
    lake = platform.lake
    lake.put("bronze/a.txt", b"x")
    assert (settings.lake_root / "bronze" / "a.txt").read_bytes() == b"x"
    assert lake.uri("bronze/a.txt") == (settings.lake_root / "bronze" / "a.txt").as_uri()
