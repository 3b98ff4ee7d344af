"""GcsLake against gcp-storage-emulator: the Lake contract the local lake keeps."""

from __future__ import annotations

import uuid

import pytest
from contracts.lake import LakeContract

from winter_days.config import load_settings
from winter_days.stores import LakeImmutableError
from winter_days.stores.gcs import GcsLake

pytestmark = pytest.mark.emulator


@pytest.fixture
def client(storage_emulator):
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    return storage.Client(project="wd-test", credentials=AnonymousCredentials())


@pytest.fixture
def bucket(client) -> str:
    name = f"wd-lake-{uuid.uuid4().hex[:12]}"
    client.create_bucket(name)
    return name


@pytest.fixture
def lake(client, bucket) -> GcsLake:
    return GcsLake(client, bucket, "lake")


class TestGcsLake(LakeContract):
    """The behaviours the local lake keeps, against the emulator."""


def test_uris_name_the_bucket_and_prefix_and_there_are_no_local_paths(lake, client, bucket):
    assert lake.root_uri == f"gs://{bucket}/lake"
    assert lake.uri("bronze/sales/a.parquet") == f"gs://{bucket}/lake/bronze/sales/a.parquet"
    assert lake.local_path("bronze/sales/a.parquet") is None
    client.bucket(bucket).blob("elsewhere/z.txt").upload_from_string(b"not in the lake")
    lake.put("bronze/a.txt", b"x")
    assert lake.list() == ["bronze/a.txt"]


def test_a_large_file_goes_up_in_a_resumable_upload_and_stays_immutable(lake, tmp_path):
    big = tmp_path / "big.bin"
    payload = bytes(range(256)) * (9 * 4096 + 7)  # over the client's 8 MiB single-request limit
    big.write_bytes(payload)
    lake.put_file("bronze/startups/big.bin", big)
    lake.put_file("bronze/startups/big.bin", big)
    assert lake.get("bronze/startups/big.bin") == payload
    big.write_bytes(payload[:-1] + b"\x00")
    with pytest.raises(LakeImmutableError):
        lake.put_file("bronze/startups/big.bin", big)
    with lake.open("bronze/startups/big.bin") as reader:
        reader.seek(len(payload) - 3)
        assert reader.read() == payload[-3:]


def test_a_streamed_write_of_several_chunks_goes_up_without_a_local_file(lake, client, bucket, monkeypatch):
    import tempfile

    from winter_days.stores import gcs

    def no_local_files(*args, **kwargs):
        raise AssertionError("the gcp lake wrote a local file")

    monkeypatch.setattr(gcs, "_WRITE_CHUNK", 256 * 1024)  # the resumable upload's smallest chunk
    for name in ("TemporaryFile", "NamedTemporaryFile", "SpooledTemporaryFile", "mkstemp"):
        monkeypatch.setattr(tempfile, name, no_local_files)
    block = bytes(range(256)) * 1024
    with pytest.raises(RuntimeError):
        with lake.writer("bronze/clickstream/load_date=2026-03-01/events.jsonl") as handle:
            for _ in range(3):
                handle.write(block)  # chunks already sent: the upload has begun
            raise RuntimeError("the generator failed")
    assert [blob.name for blob in client.list_blobs(bucket)] == []
    with lake.writer("bronze/clickstream/load_date=2026-03-01/events.jsonl") as handle:
        for _ in range(3):
            handle.write(block)
        assert handle.tell() == 3 * len(block)
    assert lake.get("bronze/clickstream/load_date=2026-03-01/events.jsonl") == block * 3
    with lake.writer("bronze/clickstream/load_date=2026-03-01/events.jsonl") as handle:
        handle.write(block * 3)  # the same bytes again: a no-op, nothing uploaded


def test_a_create_that_loses_the_race_compares_content(lake, client, bucket):
    """The object appears between the existence check and the upload: the 412 decides."""
    real_get_blob = type(client.bucket(bucket)).get_blob
    first_lookup = []

    def get_blob_racing(self, name, *args, **kwargs):
        if not first_lookup:
            first_lookup.append(name)
            client.bucket(bucket).blob(name).upload_from_string(b"written by another run")
            return None
        return real_get_blob(self, name, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(type(client.bucket(bucket)), "get_blob", get_blob_racing)
        with pytest.raises(LakeImmutableError):
            lake.put("bronze/sales/raced.parquet", b"mine")
        first_lookup.clear()
        lake.put("bronze/sales/raced-same.parquet", b"written by another run")
    assert lake.get("bronze/sales/raced.parquet") == b"written by another run"


def test_the_gcp_profile_opens_the_bucket_and_prefix_of_lake_uri(storage_emulator, client, bucket, tmp_path):
    from winter_days.platform import build_platform

    settings = load_settings(
        overrides={"profile": "gcp", "gcp": {"project_id": "wd-test"}, "lake_uri": f"gs://{bucket}/prod/lake"},
        environ={},
        cwd=tmp_path,
    )
    lake = build_platform(settings).lake
    assert isinstance(lake, GcsLake)
    lake.put("bronze/a.txt", b"x")
    assert client.bucket(bucket).blob("prod/lake/bronze/a.txt").download_as_bytes() == b"x"
    assert lake.uri("bronze/a.txt") == f"gs://{bucket}/prod/lake/bronze/a.txt"
