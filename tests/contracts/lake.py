"""The Lake contract: inherit `LakeContract` in a `Test...` class that provides a `lake` fixture."""

from __future__ import annotations

import threading

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from winter_days.stores import Lake, LakeImmutableError, LakeKeyError, LakeNotFound

BAD_KEYS = ["", "/etc/passwd", "bronze/../secret", "bronze//x", "bronze/x/", "./x", "a\\b", "C:/x", "bronze/./x"]


class LakeContract:
    def test_it_is_a_lake(self, lake):
        assert isinstance(lake, Lake)
        assert lake.uri("bronze/a/b.txt").startswith(lake.root_uri + "/")

    @pytest.mark.parametrize("key", BAD_KEYS)
    def test_bad_keys_are_refused_before_any_io(self, lake, key):
        for operation in (lambda: lake.put(key, b"x"), lambda: lake.exists(key), lambda: lake.uri(key)):
            with pytest.raises(LakeKeyError):
                operation()
        assert lake.list() == []

    def test_put_get_exists_list_by_prefix(self, lake):
        for key, data in [
            ("bronze/sales/a.parquet", b"1"),
            ("bronze/sales/b.parquet", b"2"),
            ("bronze/salesmen/c.parquet", b"3"),
        ]:
            lake.put(key, data)
        lake.put("mlops/x.json", b"{}")
        assert lake.get("bronze/sales/b.parquet") == b"2"
        assert lake.exists("bronze/sales/a.parquet") and not lake.exists("bronze/sales/z.parquet")
        assert lake.list("bronze/sales/") == ["bronze/sales/a.parquet", "bronze/sales/b.parquet"]
        assert lake.list("bronze/sales") == [
            "bronze/sales/a.parquet",
            "bronze/sales/b.parquet",
            "bronze/salesmen/c.parquet",
        ]
        assert lake.list() == sorted(lake.list()) and len(lake.list()) == 4
        with pytest.raises(LakeNotFound):
            lake.get("bronze/sales/z.parquet")
        with pytest.raises(LakeNotFound):
            lake.open("bronze/sales/z.parquet")

    def test_immutable_areas_refuse_other_content_and_accept_the_same(self, lake, tmp_path):
        lake.put("bronze/clickstream/d.jsonl", b"same")
        lake.put("bronze/clickstream/d.jsonl", b"same")
        for other in (b"different", b"sam"):
            with pytest.raises(LakeImmutableError, match="bronze/clickstream/d.jsonl"):
                lake.put("bronze/clickstream/d.jsonl", other)
        other_file = tmp_path / "other.jsonl"
        other_file.write_bytes(b"different")
        with pytest.raises(LakeImmutableError):
            lake.put_file("bronze/clickstream/d.jsonl", other_file)
        with lake.writer("ground_truth/churn/d.parquet") as handle:
            handle.write(b"v1")
        with pytest.raises(LakeImmutableError):
            with lake.writer("ground_truth/churn/d.parquet") as handle:
                handle.write(b"v2")
        assert lake.get("bronze/clickstream/d.jsonl") == b"same"
        assert lake.get("ground_truth/churn/d.parquet") == b"v1"
        assert lake.list("bronze/") == ["bronze/clickstream/d.jsonl"]

    def test_working_areas_are_mutable(self, lake):
        lake.put("mlops/aliases.json", b"v1")
        lake.put("mlops/aliases.json", b"v2")
        assert lake.get("mlops/aliases.json") == b"v2"

    def test_writer_publishes_whole_files_only(self, lake):
        with pytest.raises(RuntimeError):
            with lake.writer("bronze/sales/big.parquet") as handle:
                handle.write(b"half a file")
                raise RuntimeError("crash mid-write")
        assert not lake.exists("bronze/sales/big.parquet")
        assert lake.list("bronze/") == []
        with lake.writer("bronze/sales/big.parquet") as handle:
            handle.write(b"part1")
            assert not lake.exists("bronze/sales/big.parquet")
            handle.write(b"part2")
        assert lake.get("bronze/sales/big.parquet") == b"part1part2"

    def test_parquet_written_through_the_writer_reads_back_through_open(self, lake):
        table = pa.table({"sale_id": ["s1", "s2", "s3"], "total_amount": [1.5, 2.0, 3.25]})
        with lake.writer("bronze/sales/export_date=2026-03-01/sales.parquet") as handle:
            pq.write_table(table, handle)
        with lake.open("bronze/sales/export_date=2026-03-01/sales.parquet") as reader:
            assert pq.read_table(reader).equals(table)

    def test_concurrent_creates_of_one_immutable_key_keep_exactly_one(self, lake):
        errors: list[Exception] = []
        barrier = threading.Barrier(8)

        def write(i: int):
            barrier.wait()
            try:
                lake.put("bronze/startups/x.jsonl", f"content {i}".encode())
            except LakeImmutableError as err:
                errors.append(err)

        threads = [threading.Thread(target=write, args=(i,)) for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(errors) == 7
        assert lake.get("bronze/startups/x.jsonl").startswith(b"content ")
