"""Keyed pseudonyms: e-mail addresses and customer names as HMAC-SHA256 under a secret key.

An unsalted digest of a guessable value is no pseudonym: anyone who knows how addresses
are formed (first.last<n>@domain) hashes every candidate and reads the table back. With a
secret key the digest cannot be recomputed without the key, yet equal inputs still give
equal pseudonyms, so joins on them keep working.

Where the key lives:
- local profile: a file (setting `pseudonym.key_file`, default <home>/pseudonym.key), made
  at first use with mode 0600 and 32 random bytes written as 64 hex digits;
- gcp profile: a Secret Manager secret (setting `pseudonym.secret`, its resource name) holding
  the same text, or, without it, a key file that already exists (Cloud Run can mount a
  secret as a file); nothing is ever created on gcp.

docs/pseudonyms.md says how to rotate the key and what rotation does to joins.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import stat
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

KEY_BYTES = 32
_HEX_KEY = re.compile(r"[0-9a-fA-F]{64,}")
_SPACES = re.compile(r"\s+")
# Each kind of value is hashed in its own domain, so a name's pseudonym can never equal an
# address's.
_EMAIL, _NAME = b"email\x00", b"name\x00"


class PseudonymKeyError(ValueError):
    """The pseudonymisation key cannot be read or made; the message names the setting."""


@dataclass(frozen=True)
class Pseudonymiser:
    """Turns values into their keyed pseudonyms (64 lower-case hex digits)."""

    key: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.key) < KEY_BYTES:
            raise PseudonymKeyError(f"a pseudonymisation key needs at least {KEY_BYTES} bytes, got {len(self.key)}")

    def email(self, address: str) -> str:
        """The pseudonym of an e-mail address, compared as trimmed lower-case text."""
        return self._digest(_EMAIL, address.strip().lower())

    def name(self, name: str) -> str:
        """The pseudonym of a person's name: Unicode-normalised, single-spaced, case-folded,
        so 'Ada  Lovelace' and 'ada lovelace' are one person."""
        return self._digest(_NAME, _SPACES.sub(" ", unicodedata.normalize("NFC", name)).strip().casefold())

    def emails(self, addresses: Iterable[str]) -> list[str]:
        return [self.email(a) for a in addresses]

    def names(self, names: Iterable[str]) -> list[str]:
        return [self.name(n) for n in names]

    def _digest(self, domain: bytes, text: str) -> str:
        # A copy of the keyed state costs half of a new HMAC; a lone surrogate cannot be UTF-8
        # encoded and is hashed as the bytes it would have.
        digest = self._keyed(domain).copy()
        digest.update(text.encode("utf-8", "surrogatepass"))
        return digest.hexdigest()

    def _keyed(self, domain: bytes) -> Any:
        return _keyed_state(self.key, domain)


@lru_cache(maxsize=16)
def _keyed_state(key: bytes, domain: bytes) -> Any:
    return hmac.new(key, domain, hashlib.sha256)


def parse_key(text: str, source: str) -> bytes:
    """The key in `text` (hex digits, at least 64); PseudonymKeyError naming `source` otherwise."""
    stripped = text.strip()
    if not _HEX_KEY.fullmatch(stripped) or len(stripped) % 2:
        raise PseudonymKeyError(
            f"{source}: expected a key of at least {KEY_BYTES * 2} hex digits (as `openssl rand -hex {KEY_BYTES}` "
            "prints), found something else"
        )
    return bytes.fromhex(stripped)


def key_from_file(path: Path, *, create: bool) -> bytes:
    """The key in `path`; with `create`, a new random key is written there first if there is
    none (mode 0600; of two processes creating it at once, both end up with the same key)."""
    path = Path(path)
    if create and not path.exists():
        _create_key_file(path)
    try:
        status = path.stat()
        if status.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise PseudonymKeyError(
                f"setting pseudonym.key_file (WINTER_DAYS_PSEUDONYM_KEY_FILE): {path} is open to other users (mode {stat.S_IMODE(status.st_mode):04o}); "
                f"the key must be private: chmod 600 {path}"
            )
        text = path.read_text(encoding="ascii")
    except FileNotFoundError:
        raise PseudonymKeyError(
            f"setting pseudonym.key_file (WINTER_DAYS_PSEUDONYM_KEY_FILE): {path} does not exist; on the gcp profile set pseudonym_secret to the "
            "Secret Manager secret holding the key, or mount that secret as this file"
        ) from None
    except (OSError, UnicodeDecodeError) as err:
        raise PseudonymKeyError(
            f"setting pseudonym.key_file (WINTER_DAYS_PSEUDONYM_KEY_FILE): cannot read {path}: {err}"
        ) from None
    return parse_key(text, f"setting pseudonym.key_file (WINTER_DAYS_PSEUDONYM_KEY_FILE): {path}")


def _create_key_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = secrets.token_hex(KEY_BYTES) + "\n"
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        try:
            os.link(tmp, path)  # never replaces a key another process made meanwhile
        except FileExistsError:
            pass
    finally:
        tmp.unlink(missing_ok=True)


def secret_version_name(secret: str) -> str:
    """`projects/P/secrets/S` as its latest version; a name with a version is kept."""
    name = secret.strip().strip("/")
    if not re.fullmatch(r"projects/[^/]+/secrets/[^/]+(/versions/[^/]+)?", name):
        raise PseudonymKeyError(
            f"setting pseudonym.secret (WINTER_DAYS_PSEUDONYM_SECRET): {secret!r} is not a Secret Manager secret name "
            "(projects/PROJECT/secrets/NAME, optionally /versions/VERSION)"
        )
    return name if "/versions/" in name else f"{name}/versions/latest"


def key_from_secret_manager(secret: str, client: Any = None) -> bytes:
    """The key held by a Secret Manager secret version (its payload: the key's hex digits).

    `client` is a secretmanager.SecretManagerServiceClient; by default one is made with the
    environment's credentials (the [gcp] extra, imported only here)."""
    name = secret_version_name(secret)
    if client is None:
        from google.cloud import secretmanager

        from winter_days.gcp_credentials import application_default_credentials

        credentials = application_default_credentials(purpose="the pseudonymisation key (Secret Manager)")
        client = secretmanager.SecretManagerServiceClient(credentials=credentials)
    from google.api_core import exceptions

    try:
        response = client.access_secret_version(name=name)
    except exceptions.NotFound:
        raise PseudonymKeyError(
            f"setting pseudonym.secret (WINTER_DAYS_PSEUDONYM_SECRET): {name} does not exist (or has no enabled version)"
        ) from None
    except exceptions.Forbidden:  # PermissionDenied over gRPC, 403 over REST
        raise PseudonymKeyError(
            f"setting pseudonym.secret (WINTER_DAYS_PSEUDONYM_SECRET): the service account may not read {name} "
            "(it needs roles/secretmanager.secretAccessor on the secret)"
        ) from None
    payload = response.payload
    if payload.data_crc32c:
        import google_crc32c

        if google_crc32c.value(payload.data) != payload.data_crc32c:
            raise PseudonymKeyError(
                f"setting pseudonym.secret (WINTER_DAYS_PSEUDONYM_SECRET): {name} arrived corrupted (its CRC32C does not match)"
            )
    try:
        text = payload.data.decode("ascii")
    except UnicodeDecodeError:
        text = ""
    return parse_key(text, f"setting pseudonym.secret (WINTER_DAYS_PSEUDONYM_SECRET): {name}")
