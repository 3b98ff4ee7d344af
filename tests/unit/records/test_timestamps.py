from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from winter_days.records.timestamps import parse_sale_timestamp

INSTANT = datetime(2026, 3, 1, 10, 30, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "form"),
    [
        ("2026-03-01T10:30:00+00:00", "iso_utc"),
        ("2026-03-01T10:30:00Z", "iso_z"),
        ("2026-03-01T12:30:00+02:00", "iso_offset"),
        ("2026-03-01T05:30:00-05:00", "iso_offset"),
        ("2026-03-01T10:30:00", "iso_naive"),
        ("2026-03-01 10:30:00", "iso_naive"),
        ("  2026-03-01T10:30:00Z ", "iso_z"),
        (INSTANT, "datetime"),
        (INSTANT.astimezone(timezone(timedelta(hours=9))), "datetime"),
        (datetime(2026, 3, 1, 10, 30), "datetime_naive"),
        (int(INSTANT.timestamp()), "epoch_s"),
        (INSTANT.timestamp(), "epoch_s"),
        (int(INSTANT.timestamp() * 1000), "epoch_ms"),
        (int(INSTANT.timestamp() * 1_000_000), "epoch_us"),
        (str(int(INSTANT.timestamp())), "epoch_s"),
        ("Sun, 01 Mar 2026 10:30:00 GMT", "rfc2822"),
    ],
)
def test_every_legacy_form_denotes_the_same_instant(value, form):
    parsed = parse_sale_timestamp(value)
    assert parsed.ok and parsed.form == form
    assert parsed.value == INSTANT and parsed.value.tzinfo == UTC


@pytest.mark.parametrize("value", ["2026-03-01", "20260301", date(2026, 3, 1)])
def test_date_only_is_midnight_utc_of_that_day(value):
    parsed = parse_sale_timestamp(value)
    assert parsed.form == "date_only"
    assert parsed.value == datetime(2026, 3, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "form"),
    [
        ("yesterday", "unparseable"),
        ("", "unparseable"),
        ("2026-13-45T99:00:00", "unparseable"),
        (None, "missing"),
        (True, "unparseable"),
        (float("nan"), "unparseable"),
        ({"seconds": 1}, "unparseable"),
        (-5_000_000_000, "implausible_epoch"),
        # Beyond the years a datetime holds: refused as values, never a crash of the export.
        (10**20, "out_of_range"),
        (1e300, "out_of_range"),
        ("-1e300", "unparseable"),
        ("100000000000000000000000", "out_of_range"),
        (datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=5))), "out_of_range"),
        ("²", "unparseable"),
        ("١٢٣", "unparseable"),
    ],
)
def test_values_that_denote_no_instant_keep_their_raw_text(value, form):
    parsed = parse_sale_timestamp(value)
    assert parsed.value is None and not parsed.ok
    assert parsed.form == form
    if value is not None:
        assert parsed.raw is not None


@pytest.mark.parametrize("value", [3.5, 12345, "12345", 0, -1, "3.5", 946684799, 946684799999, 5e11])
def test_numbers_that_are_no_epoch_of_this_century_are_no_instant(value):
    """3.5 or 12345 would be the first hours of 1970 as epoch seconds: a misread value, never
    a legacy timestamp (none predates records.EARLIEST_PLAUSIBLE, 2000-01-01)."""
    parsed = parse_sale_timestamp(value)
    assert parsed.value is None and parsed.form == "implausible_epoch" and parsed.raw is not None


@pytest.mark.parametrize("value", [946684800, 946684800000, 946684800000000])
def test_epochs_from_2000_on_are_seconds_milliseconds_or_microseconds(value):
    assert parse_sale_timestamp(value).value == datetime(2000, 1, 1, tzinfo=UTC)


def test_instants_outside_the_plausible_years_parse_and_are_left_to_the_contract():
    """The parser normalises; whether 9999 or 1990 is a plausible sale is staging's rule."""
    assert parse_sale_timestamp("9999-01-01T00:00:00Z").value == datetime(9999, 1, 1, tzinfo=UTC)
    assert parse_sale_timestamp("1990-01-01T00:00:00Z").form == "iso_z"
