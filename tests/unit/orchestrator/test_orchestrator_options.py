"""The orchestrator's WINTER_DAYS_* variables: defaults by profile, validation that names the variable."""

from __future__ import annotations

import pytest

from winter_days.config import ConfigError
from winter_days.orchestrator.options import load_options

TOKEN = "0123456789abcdef-token"


def test_local_defaults_poll_fast_and_keep_history_under_home(settings):
    options = load_options(settings, environ={"WINTER_DAYS_AUTH_TOKEN": TOKEN})
    assert options.poll_interval_seconds < 1 and options.poll_timeout_seconds == 1800
    assert options.history_path == settings.home / "orchestrator.sqlite3"
    assert options.auth_token == TOKEN and not options.auth_disabled


def test_values_are_read_and_validated(settings):
    options = load_options(
        settings,
        environ={
            "WINTER_DAYS_POLL_INTERVAL_SECONDS": "5",
            "WINTER_DAYS_POLL_TIMEOUT_SECONDS": "600",
            "WINTER_DAYS_AUTH_DISABLED": "true",
            "WINTER_DAYS_ALLOWED_CALLERS": "a@x.test, b@x.test",
        },
    )
    assert (options.poll_interval_seconds, options.poll_timeout_seconds) == (5.0, 600.0)
    assert options.auth_disabled and options.allowed_callers == ("a@x.test", "b@x.test")


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"WINTER_DAYS_POLL_INTERVAL_SECONDS": "soon"}, "WINTER_DAYS_POLL_INTERVAL_SECONDS: expected a number"),
        ({"WINTER_DAYS_POLL_TIMEOUT_SECONDS": "-1"}, "WINTER_DAYS_POLL_TIMEOUT_SECONDS: -1.0 is outside"),
        ({"WINTER_DAYS_POLL_INTERVAL_SECONDS": "90", "WINTER_DAYS_POLL_TIMEOUT_SECONDS": "60"}, "is longer than"),
        ({"WINTER_DAYS_AUTH_DISABLED": "perhaps"}, "WINTER_DAYS_AUTH_DISABLED: expected true or false"),
        ({"WINTER_DAYS_AUTH_TOKEN": "short"}, "at least 16 characters"),
        ({"WINTER_DAYS_AUTH_TOKEN_FILE": "/nonexistent/token"}, "WINTER_DAYS_AUTH_TOKEN_FILE: cannot read"),
    ],
)
def test_bad_values_fail_naming_the_variable(settings, environ, message):
    with pytest.raises(ConfigError, match=message):
        load_options(settings, environ=environ)


def test_an_empty_token_file_is_refused(settings, tmp_path):
    empty = tmp_path / "token"
    empty.write_text("\n")
    with pytest.raises(ConfigError, match="is empty"):
        load_options(settings, environ={"WINTER_DAYS_AUTH_TOKEN_FILE": str(empty)})
