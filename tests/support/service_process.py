"""A real orchestrator service in its own process group on 127.0.0.1, and a small HTTP client."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from support.ports import free_port

SERVE = "import sys; from winter_days.cli import main; main(['serve', *sys.argv[1:]])"


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> dict:
        return json.loads(self.body)


class ServiceProcess:
    """gunicorn (master + workers) started by a test, ended by the test through its pid."""

    def __init__(self, argv: list[str], env: dict[str, str], port: int, log_path: Path):
        self.port = port
        self.log_path = log_path
        self._log = log_path.open("ab")
        self.proc = subprocess.Popen(
            argv, env={**os.environ, **env}, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.wait_ready()

    @classmethod
    def serve(cls, folder: Path, env: dict[str, str], workers: int = 2) -> ServiceProcess:
        """`winter-days serve` itself (the command's code, with the installation's settings)."""
        port = free_port()
        argv = [sys.executable, "-c", SERVE, "--port", str(port), "--workers", str(workers)]
        return cls(argv, env, port, folder / f"serve-{port}.log")

    @classmethod
    def gunicorn(cls, folder: Path, env: dict[str, str], app: str, pythonpath: Path) -> ServiceProcess:
        port = free_port()
        argv = [
            sys.executable,
            "-m",
            "gunicorn",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--worker-class",
            "gthread",
            "--threads",
            "16",
            "--pythonpath",
            str(pythonpath),
            app,
        ]
        return cls(argv, env, port, folder / f"gunicorn-{port}.log")

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the service exited with {self.proc.returncode}:\n{self.log()}")
            try:
                if self.request("GET", "/healthz").status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"the service did not answer /healthz within {timeout} s:\n{self.log()}")

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict | None = None, timeout: float = 600
    ) -> Reply:
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}", data=body, method=method, headers=headers or {}
        )
        try:
            with urllib.request.urlopen(req, timeout=timeout) as response:
                return Reply(response.status, dict(response.headers), response.read())
        except urllib.error.HTTPError as err:
            return Reply(err.code, dict(err.headers), err.read())

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def kill_hard(self) -> None:
        """SIGKILL the whole process group (master and workers) at once: a crash."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(30)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(30)
        self._log.close()
