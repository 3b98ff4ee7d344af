"""A fake Secret Manager REST v1 server on 127.0.0.1, speaking the API's wire format.

It answers `GET /v1/projects/P/secrets/S/versions/V:access` as the service does: an
AccessSecretVersionResponse with the payload base64-encoded in `data` and its CRC32C as a
decimal string in `dataCrc32c`; `latest` is the highest enabled version; errors are
google.rpc.Status JSON. Every request is recorded so tests can assert what was sent.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import google_crc32c

_ACCESS = re.compile(r"^/v1/(?P<secret>projects/[^/]+/secrets/[^/]+)/versions/(?P<version>[^/:]+):access$")


@dataclass
class FakeSecretManagerServer:
    """Secrets by name (projects/P/secrets/S), each a list of versions (1, 2, ...)."""

    secrets: dict[str, list[bytes]] = field(default_factory=dict)
    forbidden: set[str] = field(default_factory=set)
    corrupt: bool = False  # send a CRC32C that does not match the payload
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    def start(self) -> FakeSecretManagerServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests.append((self.path, dict(self.headers)))
                status, body = server.handle(self.path.split("?", 1)[0])
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="fake-secret-manager", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def handle(self, path: str) -> tuple[int, dict[str, Any]]:
        route = _ACCESS.match(path)
        if route is None:
            return _error(404, f"no such method: {path}")
        secret, version = route["secret"], route["version"]
        if secret in self.forbidden:
            return _error(
                403, f"Permission 'secretmanager.versions.access' denied for resource '{secret}/versions/{version}'"
            )
        versions = self.secrets.get(secret)
        if not versions:
            return _error(404, f"Secret [{secret}] not found or has no versions.")
        number = len(versions) if version == "latest" else int(version) if version.isdigit() else 0
        if not 1 <= number <= len(versions):
            return _error(404, f"Secret Version [{secret}/versions/{version}] not found.")
        payload = versions[number - 1]
        crc = google_crc32c.value(payload) ^ (1 if self.corrupt else 0)
        return 200, {
            "name": f"{secret}/versions/{number}",
            "payload": {"data": base64.b64encode(payload).decode(), "dataCrc32c": str(crc)},
        }


def _error(status: int, message: str) -> tuple[int, dict[str, Any]]:
    names = {403: "PERMISSION_DENIED", 404: "NOT_FOUND"}
    return status, {"error": {"code": status, "message": message, "status": names[status]}}
