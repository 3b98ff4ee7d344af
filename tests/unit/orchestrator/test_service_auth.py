"""Who may POST /run: the shared bearer token, auth switched off explicitly, pluggable verifiers."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from support.orchestrator_requests import AUTH, TOKEN

from winter_days.auth import AuthError, Caller
from winter_days.config import ConfigError, load_settings
from winter_days.orchestrator.pipeline import RunPipeline, RunStep
from winter_days.platform import build_platform


@pytest.fixture
def quiet_pipeline() -> RunPipeline:
    return RunPipeline((RunStep("export_sales", lambda context: {"rows": 0}),))


@pytest.mark.parametrize(
    ("headers", "status", "message"),
    [
        ({}, 401, "missing Authorization header"),
        ({"Authorization": TOKEN}, 401, "malformed Authorization header"),
        ({"Authorization": f"Basic {TOKEN}"}, 401, "malformed Authorization header"),
        ({"Authorization": "Bearer "}, 401, "malformed Authorization header"),
        ({"Authorization": "Bearer two words"}, 401, "malformed Authorization header"),
        ({"Authorization": "Bearer wrong-token-0123456789"}, 403, "not allowed"),
        ({"Authorization": f"Bearer {TOKEN}x"}, 403, "not allowed"),
        # The same secret with white space around it is another credential.
        ({"Authorization": f"Bearer {TOKEN} "}, 401, "malformed Authorization header"),
        ({"Authorization": f"Bearer {TOKEN}\t"}, 401, "malformed Authorization header"),
        ({"Authorization": f"Bearer  {TOKEN}"}, 401, "malformed Authorization header"),
        ({"Authorization": f" Bearer {TOKEN}"}, 401, "malformed Authorization header"),
    ],
)
def test_post_without_the_right_token_is_refused_and_starts_nothing(make_app, quiet_pipeline, headers, status, message):
    client = make_app(quiet_pipeline).test_client()
    response = client.post("/run", headers=headers)
    assert response.status_code == status
    assert message in response.get_json()["error"]
    assert TOKEN not in response.get_data(as_text=True)
    if status == 401:
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/runs").get_json()["runs"] == []


def test_the_right_token_runs(make_app, quiet_pipeline):
    assert make_app(quiet_pipeline).test_client().post("/run", headers=AUTH).status_code == 200


def test_reads_need_no_token(make_app, quiet_pipeline):
    client = make_app(quiet_pipeline).test_client()
    assert client.get("/healthz").status_code == 200
    assert client.get("/runs").status_code == 200
    assert client.get("/metrics").status_code == 200


def test_auth_disabled_lets_anyone_in_and_says_so_at_every_start(make_app, quiet_pipeline, open_platform):
    for _ in range(2):
        app = make_app(quiet_pipeline, platform=open_platform)
        warnings = [json.loads(line) for line in app.log_stream.getvalue().splitlines()]
        assert any(w["severity"] == "WARNING" and "authentication is DISABLED" in w["message"] for w in warnings)
        assert app.test_client().post("/run").status_code == 200


def test_the_service_does_not_start_without_a_token_or_the_explicit_flag(settings, monkeypatch):
    without = build_platform(replace(settings, auth=replace(settings.auth, token="")))
    with pytest.raises(ConfigError, match="WINTER_DAYS_AUTH_TOKEN"):
        without.check(serving=True)


def test_the_token_comes_from_a_file(settings, tmp_path, make_app, quiet_pipeline):
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")  # the one line break an editor adds is not part of it
    from_file = load_settings(
        environ={"WINTER_DAYS_HOME": str(settings.home), "WINTER_DAYS_AUTH_TOKEN_FILE": str(token_file)}, cwd=tmp_path
    )
    assert from_file.auth.token == TOKEN and TOKEN not in repr(from_file)
    client = make_app(quiet_pipeline, platform=build_platform(from_file)).test_client()
    assert client.post("/run", headers=AUTH).status_code == 200


@pytest.mark.parametrize("text", [f"{TOKEN} \n", f" {TOKEN}", f"{TOKEN}\t", f"{TOKEN}\n\n", "short-token\n"])
def test_a_token_file_with_anything_but_the_token_is_refused(tmp_path, text):
    token_file = tmp_path / "token"
    token_file.write_text(text)
    with pytest.raises(ConfigError, match="at least 16 characters with no white space"):
        load_settings(environ={"WINTER_DAYS_AUTH_TOKEN_FILE": str(token_file)}, cwd=tmp_path)


def test_a_token_variable_with_white_space_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="no white space"):
        load_settings(environ={"WINTER_DAYS_AUTH_TOKEN": TOKEN + " "}, cwd=tmp_path)


def test_the_gcp_profile_needs_an_oidc_verifier_plugged_in(settings, tmp_path, monkeypatch, make_app, quiet_pipeline):
    monkeypatch.setenv("WINTER_DAYS_PROFILE", "gcp")
    monkeypatch.setenv("WINTER_DAYS_GCP_PROJECT_ID", "winter-days-test")
    monkeypatch.setenv("WINTER_DAYS_LAKE_URI", (tmp_path / "lake").as_uri())
    gcp = load_settings()
    with pytest.raises(ConfigError, match="WINTER_DAYS_AUTH_OIDC_AUDIENCES"):
        _ = build_platform(gcp).verifier

    class SchedulerOnly:
        """Stands in for the OIDC verifier: a token naming the caller's e-mail."""

        def verify(self, authorization):
            if not authorization or not authorization.startswith("Bearer "):
                raise AuthError(401, "missing bearer token")
            email = authorization.removeprefix("Bearer ")
            if email != "scheduler@winter-days-test.iam.gserviceaccount.com":
                raise AuthError(403, f"caller {email} is not allowed")
            return Caller(email)

    client = make_app(quiet_pipeline, verifier=SchedulerOnly()).test_client()
    assert client.post("/run", headers={"Authorization": "Bearer intruder@example.test"}).status_code == 403
    ok = client.post("/run", headers={"Authorization": "Bearer scheduler@winter-days-test.iam.gserviceaccount.com"})
    assert ok.status_code == 200


def test_the_token_never_reaches_the_log(make_app, quiet_pipeline):
    app = make_app(quiet_pipeline)
    client = app.test_client()
    client.post("/run", headers=AUTH)
    client.post("/run", headers={"Authorization": "Bearer wrong-token-0123456789"})
    assert TOKEN not in app.log_stream.getvalue()
    assert "wrong-token" not in app.log_stream.getvalue()
