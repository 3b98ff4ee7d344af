"""The pseudonymisation key: a private file made at first use locally, a Secret Manager
secret on gcp (read through the real client library from a fake speaking its REST wire
format), and errors that name the setting and the fix."""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import stat
import threading
from pathlib import Path

import pytest
from fakes.secret_manager_server import FakeSecretManagerServer

from winter_days.config import ConfigError, load_settings
from winter_days.platform import build_platform
from winter_days.pseudonyms import (
    Pseudonymiser,
    PseudonymKeyError,
    key_from_file,
    key_from_secret_manager,
)

SECRET = "projects/winter-proj/secrets/winter-days-pseudonym-key"
KEY = bytes(range(100, 132))


def test_the_local_key_is_made_at_first_use_private_and_kept(settings):
    path = settings.pseudonym.key_file
    assert path == settings.home / "pseudonym.key" and not path.exists()

    first = build_platform(settings).pseudonymiser

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    assert len(text.strip()) == 64 and int(text, 16) >= 0
    assert build_platform(settings).pseudonymiser == first
    assert (
        first.email("ada@example.com")
        == hmac.new(bytes.fromhex(text), b"email\x00ada@example.com", hashlib.sha256).hexdigest()
    )


def test_processes_making_the_key_at_once_all_end_up_with_the_same_one(tmp_path):
    path = tmp_path / "home" / "pseudonym.key"
    keys: list[bytes] = []
    threads = [threading.Thread(target=lambda: keys.append(key_from_file(path, create=True))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(keys) == 8 and len(set(keys)) == 1
    assert [p.name for p in path.parent.iterdir()] == ["pseudonym.key"]


def test_a_key_file_others_can_read_is_refused_with_the_fix(tmp_path):
    path = tmp_path / "pseudonym.key"
    path.write_text(KEY.hex() + "\n")
    os.chmod(path, 0o644)
    with pytest.raises(
        PseudonymKeyError, match=r"pseudonym.key_file \(WINTER_DAYS_PSEUDONYM_KEY_FILE\): .* \(mode 0644\).*chmod 600"
    ):
        key_from_file(path, create=True)


@pytest.mark.parametrize("content", ["", "not hex at all", "ab" * 16, KEY.hex() + "z"])
def test_a_key_file_that_holds_no_key_names_the_setting(tmp_path, content):
    path = tmp_path / "pseudonym.key"
    path.write_text(content)
    os.chmod(path, 0o600)
    with pytest.raises(
        PseudonymKeyError,
        match=r"setting pseudonym.key_file \(WINTER_DAYS_PSEUDONYM_KEY_FILE\): .*pseudonym.key: expected a key of at least 64 hex",
    ):
        key_from_file(path, create=False)


def test_the_key_never_shows_in_a_repr():
    assert KEY.hex() not in repr(Pseudonymiser(KEY)) and str(KEY) not in repr(Pseudonymiser(KEY))


def test_pseudonyms_compare_normalised_values_and_keep_kinds_apart():
    pseudonyms = Pseudonymiser(KEY)
    assert pseudonyms.email("  Ada@Example.COM ") == pseudonyms.email("ada@example.com")
    assert pseudonyms.name("Ada   LOVELACE") == pseudonyms.name("ada lovelace")
    assert pseudonyms.name("ada") != pseudonyms.email("ada")
    assert pseudonyms.email("ada@example.com") != Pseudonymiser(bytes(32)).email("ada@example.com")


def gcp_settings(tmp_path: Path, **environ: str):
    base = {"WINTER_DAYS_PROFILE": "gcp", "WINTER_DAYS_GCP_PROJECT_ID": "winter-proj", "WINTER_DAYS_GCP_BUCKET": "lake"}
    return load_settings(environ={**base, **environ}, cwd=tmp_path)


def test_gcp_without_a_secret_or_a_mounted_key_names_the_setting_and_writes_nothing(tmp_path):
    settings = gcp_settings(tmp_path)
    with pytest.raises(
        ConfigError,
        match=re.escape("setting pseudonym.secret (WINTER_DAYS_PSEUDONYM_SECRET): required by the gcp profile"),
    ):
        _ = build_platform(settings).pseudonymiser
    assert not settings.pseudonym.key_file.exists()


def test_gcp_reads_a_key_mounted_as_a_file_and_never_makes_one(tmp_path):
    mounted = tmp_path / "secrets" / "pseudonym.key"
    mounted.parent.mkdir()
    mounted.write_text(KEY.hex())
    os.chmod(mounted, 0o600)
    settings = gcp_settings(tmp_path, WINTER_DAYS_PSEUDONYM_KEY_FILE=str(mounted))
    assert build_platform(settings).pseudonymiser == Pseudonymiser(KEY)


@pytest.fixture
def secret_manager():
    server = FakeSecretManagerServer().start()
    yield server
    server.stop()


@pytest.fixture
def secret_client(secret_manager):
    """The real Secret Manager client, over REST, pointed at the fake."""
    pytest.importorskip(
        "google.cloud.secretmanager", reason="google-cloud-secret-manager (the [gcp] extra) is not installed"
    )
    from google.api_core.client_options import ClientOptions
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import secretmanager

    return secretmanager.SecretManagerServiceClient(
        transport="rest",
        credentials=AnonymousCredentials(),
        client_options=ClientOptions(api_endpoint=secret_manager.url),
    )


def test_gcp_takes_the_key_from_the_latest_version_of_the_secret(tmp_path, secret_manager, secret_client):
    secret_manager.secrets[SECRET] = [bytes(32).hex().encode(), (KEY.hex() + "\n").encode()]
    settings = gcp_settings(tmp_path, WINTER_DAYS_PSEUDONYM_SECRET=SECRET)

    assert Pseudonymiser(key_from_secret_manager(settings.pseudonym.secret, secret_client)) == Pseudonymiser(KEY)

    assert [path.split("?")[0] for path, _ in secret_manager.requests] == [f"/v1/{SECRET}/versions/latest:access"]
    assert not settings.pseudonym.key_file.exists()
    # A pinned version is read as it is.
    assert key_from_secret_manager(f"{SECRET}/versions/1", secret_client) == bytes(32)


@pytest.mark.parametrize(
    ("prepare", "message"),
    [
        (
            lambda server: None,
            r"setting pseudonym.secret \(WINTER_DAYS_PSEUDONYM_SECRET\): projects/.*/versions/latest does not exist",
        ),
        (lambda server: server.forbidden.add(SECRET), r"may not read .*roles/secretmanager.secretAccessor"),
        (lambda server: server.secrets.update({SECRET: [b"short"]}), r"expected a key of at least 64 hex"),
        (
            lambda server: (server.secrets.update({SECRET: [KEY.hex().encode()]}), setattr(server, "corrupt", True)),
            r"arrived corrupted",
        ),
    ],
)
def test_a_secret_that_gives_no_key_names_the_setting_and_the_cause(secret_manager, secret_client, prepare, message):
    prepare(secret_manager)
    with pytest.raises(PseudonymKeyError, match=message):
        key_from_secret_manager(SECRET, secret_client)


def test_a_secret_name_that_is_no_resource_name_is_refused_before_any_request(secret_manager, secret_client):
    with pytest.raises(PseudonymKeyError, match="is not a Secret Manager secret name"):
        key_from_secret_manager("winter-days-pseudonym-key", secret_client)
    assert secret_manager.requests == []


def test_the_settings_come_from_the_pseudonym_table_of_the_settings_file(tmp_path):
    (tmp_path / "winter-days.toml").write_text(
        '[pseudonym]\nkey_file = "keys/pseudonym.key"\nsecret = "projects/p/secrets/s"\n'
    )
    settings = load_settings(environ={}, cwd=tmp_path)
    assert settings.pseudonym.key_file == tmp_path / "keys" / "pseudonym.key"
    assert settings.pseudonym.secret == "projects/p/secrets/s"
    assert load_settings(environ={}, cwd=tmp_path / "elsewhere").pseudonym.key_file.name == "pseudonym.key"
