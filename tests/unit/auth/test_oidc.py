"""GoogleIdTokenVerifier with RSA keys made here and a certificate endpoint on 127.0.0.1."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

pytest.importorskip("google.auth", reason="google-auth (the [gcp] extra) is not installed")
pytest.importorskip("cryptography", reason="cryptography is not installed")

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from google.auth import crypt, jwt

from winter_days.auth.oidc import (
    CallerNotAllowed,
    CertificateCache,
    CertificatesUnavailable,
    GoogleIdTokenVerifier,
    IdTokenError,
    InvalidIdToken,
    parse_allowed_callers,
)

AUDIENCE = "https://winter-days-orchestrator-abc123-ew.a.run.app"
SCHEDULER = "scheduler@winter-days-prod.iam.gserviceaccount.com"


class SigningKey:
    """An RSA key with a self-signed certificate, as Google publishes its ID token keys."""

    def __init__(self, kid: str):
        self.kid = kid
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, kid)])
        now = datetime.now(UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(private.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=1))
            .sign(private, hashes.SHA256())
        )
        self.certificate_pem = certificate.public_bytes(serialization.Encoding.PEM).decode()
        private_pem = private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        self.signer = crypt.RSASigner.from_string(private_pem, key_id=kid)

    def token(self, **overrides) -> str:
        now = int(time.time())
        claims = {
            "iss": "https://accounts.google.com",
            "aud": AUDIENCE,
            "sub": "1234567890",
            "email": SCHEDULER,
            "email_verified": True,
            "iat": now,
            "exp": now + 3600,
        }
        claims.update(overrides)
        return jwt.encode(self.signer, {k: v for k, v in claims.items() if v is not None}).decode()


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return SigningKey("key-1")


@pytest.fixture(scope="module")
def other_key() -> SigningKey:
    return SigningKey("key-2")


class CertificateEndpoint:
    """Serves {kid: PEM} like Google's v1 certs endpoint, counting requests."""

    def __init__(self):
        self.certs: dict[str, str] = {}
        self.max_age = 3600
        self.failing = False
        self.requests = 0
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                endpoint.requests += 1
                if endpoint.failing:
                    self.send_response(500)
                    self.end_headers()
                    return
                body = json.dumps(endpoint.certs).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Cache-Control", f"public, max-age={endpoint.max_age}, must-revalidate, no-transform")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/oauth2/v1/certs"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()

    def publish(self, *keys: SigningKey) -> None:
        self.certs = {k.kid: k.certificate_pem for k in keys}

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def endpoint(key):
    served = CertificateEndpoint()
    served.publish(key)
    yield served
    served.close()


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def verifier(endpoint, clock) -> GoogleIdTokenVerifier:
    cache = CertificateCache(endpoint.url, clock=clock, min_refresh_seconds=30)
    return GoogleIdTokenVerifier(AUDIENCE, [SCHEDULER], certificates=cache)


def bearer(token: str) -> str:
    return f"Bearer {token}"


def test_a_valid_token_from_an_allowed_caller_returns_its_email(verifier, key):
    assert verifier.verify(bearer(key.token())) == SCHEDULER
    assert verifier.verify(bearer(key.token(iss="accounts.google.com", email=SCHEDULER.upper()))) == SCHEDULER.upper()


@pytest.mark.parametrize(
    "header, reason",
    [
        (None, "missing Authorization"),
        ("", "missing Authorization"),
        ("Basic dXNlcjpwYXNz", "malformed Authorization"),
        ("Bearer ", "malformed Authorization"),
        ("Bearer not-a-jwt", "malformed Authorization"),
        ("Bearer e30.e30", "malformed Authorization"),
        ("Bearer !!!.e30.c2ln", "malformed Authorization"),
        ("Bearer bm90IGpzb24.e30.c2ln", "malformed ID token"),
    ],
)
def test_missing_or_malformed_credentials_are_401(verifier, header, reason):
    with pytest.raises(InvalidIdToken, match=reason) as caught:
        verifier.verify(header)
    assert caught.value.status == 401


@pytest.mark.parametrize(
    "claims, reason",
    [
        ({"exp": int(time.time()) - 120, "iat": int(time.time()) - 3720}, "expired"),
        ({"iat": int(time.time()) + 600, "exp": int(time.time()) + 4200}, "not valid yet"),
        ({"aud": "https://somebody-else.example"}, "another audience"),
        ({"iss": "https://evil.example"}, "not issued by Google"),
    ],
)
def test_expired_early_foreign_audience_or_issuer_tokens_are_401(verifier, key, claims, reason):
    with pytest.raises(InvalidIdToken, match=reason) as caught:
        verifier.verify(bearer(key.token(**claims)))
    assert caught.value.status == 401


def test_a_token_signed_by_another_key_under_a_published_key_id_is_401(verifier, key):
    impostor = SigningKey(key.kid)
    with pytest.raises(InvalidIdToken, match="signature does not verify"):
        verifier.verify(bearer(impostor.token()))


def test_a_tampered_payload_is_401(verifier, key):
    header, _payload, signature = key.token().split(".")
    _, other_payload, _ = key.token(email="intruder@example.com").split(".")
    with pytest.raises(InvalidIdToken, match="signature does not verify"):
        verifier.verify(bearer(f"{header}.{other_payload}.{signature}"))


def test_unsigned_or_symmetric_tokens_are_401(verifier, key):
    import base64

    def segment(obj) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    _, payload, _ = key.token().split(".")
    for alg in ("none", "HS256"):
        token = f"{segment({'alg': alg, 'kid': key.kid, 'typ': 'JWT'})}.{payload}.c2lnbmF0dXJl"
        with pytest.raises(InvalidIdToken, match="RS256"):
            verifier.verify(bearer(token))


def test_a_valid_token_from_a_caller_not_allowed_is_403_without_the_address(verifier, key):
    with pytest.raises(CallerNotAllowed) as caught:
        verifier.verify(bearer(key.token(email="someone@other-project.iam.gserviceaccount.com")))
    assert caught.value.status == 403
    assert "someone@" not in str(caught.value) and "other-project.iam.gserviceaccount.com" in str(caught.value)


@pytest.mark.parametrize("claims", [{"email_verified": False}, {"email_verified": None}, {"email": None}])
def test_an_unverified_or_missing_email_is_403(verifier, key, claims):
    with pytest.raises(CallerNotAllowed) as caught:
        verifier.verify(bearer(key.token(**claims)))
    assert caught.value.status == 403


def test_certificates_are_cached_for_their_max_age(verifier, key, endpoint, clock):
    endpoint.max_age = 600
    for _ in range(5):
        verifier.verify(bearer(key.token()))
    assert endpoint.requests == 1
    clock.now += 599
    verifier.verify(bearer(key.token()))
    assert endpoint.requests == 1
    clock.now += 2
    verifier.verify(bearer(key.token()))
    assert endpoint.requests == 2


def test_a_rotated_key_is_fetched_once_and_unknown_key_ids_cannot_flood_the_endpoint(
    verifier, key, other_key, endpoint, clock
):
    verifier.verify(bearer(key.token()))
    assert endpoint.requests == 1
    clock.now += 31
    endpoint.publish(key, other_key)
    assert verifier.verify(bearer(other_key.token())) == SCHEDULER
    assert endpoint.requests == 2
    stranger = SigningKey("key-unknown")
    for _ in range(5):
        with pytest.raises(InvalidIdToken, match="key Google does not publish"):
            verifier.verify(bearer(stranger.token()))
    assert endpoint.requests == 2  # refreshed less than 30 s ago: no new fetch
    clock.now += 31
    with pytest.raises(InvalidIdToken):
        verifier.verify(bearer(stranger.token()))
    assert endpoint.requests == 3


def test_an_unreachable_endpoint_is_503_until_certificates_are_cached_then_they_stay_in_use(
    verifier, key, endpoint, clock
):
    endpoint.failing = True
    with pytest.raises(CertificatesUnavailable) as caught:
        verifier.verify(bearer(key.token()))
    assert caught.value.status == 503
    endpoint.failing = False
    assert verifier.verify(bearer(key.token())) == SCHEDULER
    endpoint.failing = True
    clock.now += 7200
    assert verifier.verify(bearer(key.token())) == SCHEDULER


def test_an_endpoint_that_does_not_serve_certificates_is_503(endpoint, key):
    endpoint.certs = {"keys": [{"kid": "k", "n": "...", "e": "AQAB"}]}
    verifier = GoogleIdTokenVerifier(AUDIENCE, SCHEDULER, certs_url=endpoint.url)
    with pytest.raises(CertificatesUnavailable, match="v1 certs endpoint"):
        verifier.verify(bearer(key.token()))


def test_errors_never_echo_the_token(verifier, key):
    token = key.token(aud="https://somebody-else.example")
    with pytest.raises(IdTokenError) as caught:
        verifier.verify(bearer(token))
    assert token not in str(caught.value) and token.split(".")[1] not in str(caught.value)


def test_configuration_needs_an_audience_and_allowed_callers():
    with pytest.raises(ValueError, match="audience"):
        GoogleIdTokenVerifier("", [SCHEDULER])
    with pytest.raises(ValueError, match="allowed caller"):
        GoogleIdTokenVerifier(AUDIENCE, " , ")
    assert parse_allowed_callers(f"{SCHEDULER.upper()}, ops@example.com\nci@example.com") == {
        SCHEDULER,
        "ops@example.com",
        "ci@example.com",
    }


def test_the_service_url_and_its_run_url_are_both_accepted_audiences(endpoint, clock, key):
    # Cloud Scheduler's default audience is the full target URL, .../run.
    cache = CertificateCache(endpoint.url, clock=clock, min_refresh_seconds=30)
    verifier = GoogleIdTokenVerifier([AUDIENCE, f"{AUDIENCE}/run"], [SCHEDULER], certificates=cache)
    assert verifier.verify(bearer(key.token(aud=f"{AUDIENCE}/run"))) == SCHEDULER
    assert verifier.verify(bearer(key.token())) == SCHEDULER
    with pytest.raises(InvalidIdToken, match="another audience"):
        verifier.verify(bearer(key.token(aud=f"{AUDIENCE}/runs")))


def test_the_service_on_gcp_lets_in_the_scheduler_only(verifier, key, tmp_path):
    from winter_days.auth import GoogleCallerVerifier
    from winter_days.config import load_settings
    from winter_days.orchestrator.launcher import RunLauncher
    from winter_days.orchestrator.pipeline import RunPipeline, RunStep
    from winter_days.platform import build_platform
    from winter_days.service import create_app

    platform = build_platform(load_settings(environ={"WINTER_DAYS_HOME": str(tmp_path)}, cwd=tmp_path))
    pipeline = RunPipeline((RunStep("noop", lambda context: {"ran": True}),))
    client = create_app(
        platform, launcher=RunLauncher(platform, pipeline), verifier=GoogleCallerVerifier(verifier), dashboard=False
    ).test_client()
    assert client.post("/run", headers={"Authorization": bearer(key.token())}).status_code == 200
    refused = client.post("/run", headers={"Authorization": bearer(key.token(email="intruder@example.org"))})
    assert refused.status_code == 403 and "intruder" not in refused.get_data(as_text=True)
    assert client.post("/run", headers={"Authorization": bearer(key.token(aud="https://elsewhere"))}).status_code == 401
    assert client.post("/run").status_code == 401


def test_the_gcp_profile_needs_an_audience_and_allowed_callers(tmp_path):
    from winter_days.auth import GoogleCallerVerifier
    from winter_days.config import ConfigError, load_settings
    from winter_days.platform import build_platform

    gcp = {"WINTER_DAYS_PROFILE": "gcp", "WINTER_DAYS_GCP_PROJECT_ID": "p", "WINTER_DAYS_GCP_BUCKET": "b"}

    def verifier_of(**environ):
        return build_platform(load_settings(environ={**gcp, **environ}, cwd=tmp_path)).verifier

    with pytest.raises(ConfigError, match="WINTER_DAYS_AUTH_OIDC_AUDIENCES"):
        verifier_of()
    with pytest.raises(ConfigError, match="WINTER_DAYS_AUTH_ALLOWED_CALLERS"):
        verifier_of(WINTER_DAYS_AUTH_OIDC_AUDIENCES="https://svc")
    both = verifier_of(
        WINTER_DAYS_AUTH_OIDC_AUDIENCES="https://svc,https://svc/run", WINTER_DAYS_AUTH_ALLOWED_CALLERS=SCHEDULER
    )
    assert isinstance(both, GoogleCallerVerifier)
