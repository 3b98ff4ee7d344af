"""FARM_FINGERPRINT: FarmHash Fingerprint64 as BigQuery returns it, for every length class of
the algorithm (0-16, 17-32, 33-64 and more bytes)."""

from __future__ import annotations

import pytest

from winter_days.warehouse.duckdb.dialect.farmhash import fingerprint64


def _signed(unsigned: int) -> int:
    return unsigned - (1 << 64) if unsigned >= 1 << 63 else unsigned


# BigQuery's documented values, and the test vectors of the reference implementations
# (Guava's FarmHashFingerprint64Test and ports of it).
VECTORS = [
    ("1footrue", -1541654101129638711),
    ("2applefalse", 2794438866806483259),
    ("3true", -4880158226897771312),
    ("", _signed(11160318154034397263)),
    ("Q", _signed(13816109650407654260)),
    (",=", _signed(1326014594494455617)),
    ("WW5", _signed(6316074107149058620)),
    ("e#p8", _signed(252499459662674074)),
    ("test", 8581389452482819506),
    ("#cDR^sLO", _signed(328147020574120176)),
    ("bF&d$MYIhB.Ac=qC", _signed(17582099205024456557)),
    ("M)(iJ1-nf>5XCc0L?", _signed(9968500208262240300)),
    ("test" * 8, -4196240717365766262),
    ("ECCD828C-5D7A-4C8B-9A1B-F244747E96C3", _signed(9693850515132481856)),
    ("F7479877-4690-4A44-AFC9-8FE987EA512F:some_other_id", _signed(6862335115798125349)),
    ("test" * 64, 3500507768004279527),
]


@pytest.mark.parametrize("text, expected", VECTORS, ids=[f"{len(t)}-bytes" for t, _ in VECTORS])
def test_fingerprint_of_every_length_class(text, expected):
    assert fingerprint64(text) == expected
    assert fingerprint64(text.encode()) == expected  # BYTES: the same bytes, the same fingerprint


def test_a_string_is_hashed_as_its_utf8_bytes():
    assert fingerprint64("é") == fingerprint64(b"\xc3\xa9")
