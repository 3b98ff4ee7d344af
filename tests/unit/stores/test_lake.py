from __future__ import annotations

import threading

import pytest

from winter_days.stores import LakeImmutableError, LakeKeyError, LakeNotFound, LocalLake, open_lake


@pytest.fixture
def lake(tmp_path) -> LocalLake:
    return LocalLake(tmp_path / "lake")


@pytest.mark.parametrize(
    "key",
    ["", "/etc/passwd", "bronze/../secret", "bronze//x", "bronze/x/", "./x", "a\\b", "C:/x", "bronze/./x"],
)
def test_bad_keys_are_refused_before_any_io(lake, key):
    with pytest.raises(LakeKeyError):
        lake.put(key, b"x")
    with pytest.raises(LakeKeyError):
        lake.exists(key)
    assert lake.list() == []


def test_put_get_exists_list(lake):
    lake.put("bronze/sales/a.parquet", b"1")
    lake.put("bronze/sales/b.parquet", b"2")
    lake.put("bronze/salesmen/c.parquet", b"3")
    lake.put("mlops/x.json", b"{}")
    assert lake.get("bronze/sales/b.parquet") == b"2"
    assert lake.exists("bronze/sales/a.parquet") and not lake.exists("bronze/sales/z.parquet")
    assert lake.list("bronze/sales/") == ["bronze/sales/a.parquet", "bronze/sales/b.parquet"]
    assert lake.list("bronze/sales") == ["bronze/sales/a.parquet", "bronze/sales/b.parquet", "bronze/salesmen/c.parquet"]
    assert lake.list() == sorted(lake.list())
    assert len(lake.list()) == 4
    with pytest.raises(LakeNotFound):
        lake.get("bronze/sales/z.parquet")


def test_bronze_is_immutable_but_same_content_is_a_noop(lake, tmp_path):
    lake.put("bronze/clickstream/d.jsonl", b"same")
    lake.put("bronze/clickstream/d.jsonl", b"same")
    with pytest.raises(LakeImmutableError, match="bronze/clickstream/d.jsonl"):
        lake.put("bronze/clickstream/d.jsonl", b"different")
    other = tmp_path / "other.jsonl"
    other.write_bytes(b"different")
    with pytest.raises(LakeImmutableError):
        lake.put_file("bronze/clickstream/d.jsonl", other)
    assert lake.get("bronze/clickstream/d.jsonl") == b"same"
    assert lake.list("bronze/") == ["bronze/clickstream/d.jsonl"]  # no temp files left behind


def test_working_areas_are_mutable(lake):
    lake.put("mlops/aliases.json", b"v1")
    lake.put("mlops/aliases.json", b"v2")
    assert lake.get("mlops/aliases.json") == b"v2"


def test_writer_is_atomic_and_leaves_nothing_on_failure(lake):
    with pytest.raises(RuntimeError):
        with lake.writer("bronze/sales/big.parquet") as handle:
            handle.write(b"half a file")
            raise RuntimeError("crash mid-write")
    assert not lake.exists("bronze/sales/big.parquet")
    assert list((lake.root / "bronze" / "sales").iterdir()) == []
    with lake.writer("bronze/sales/big.parquet") as handle:
        handle.write(b"part1")
        # A reader never sees the half-written file.
        assert not lake.exists("bronze/sales/big.parquet")
        handle.write(b"part2")
    assert lake.get("bronze/sales/big.parquet") == b"part1part2"


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


def test_concurrent_creates_of_one_bronze_key_keep_exactly_one(lake):
    errors: list[Exception] = []

    def write(i: int):
        try:
            lake.put("bronze/startups/x.jsonl", f"content {i}".encode())
        except LakeImmutableError as err:
            errors.append(err)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(errors) == 7
    assert lake.get("bronze/startups/x.jsonl").startswith(b"content ")


def test_open_lake_from_settings(settings):
    lake = open_lake(settings)
    lake.put("bronze/a.txt", b"x")
    assert (settings.lake_root / "bronze" / "a.txt").read_bytes() == b"x"
    assert lake.uri("bronze/a.txt") == (settings.lake_root / "bronze" / "a.txt").as_uri()
