"""Real processes for end-to-end tests: the phaen CLI and a served application."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request


def phaen(env, *args, stdin=None, check=True):
    result = subprocess.run([sys.executable, "-m", "service.cli", *args], env=env, input=stdin,
                            capture_output=True, text=True, timeout=120)
    if check and result.returncode != 0:
        raise AssertionError(f"phaen {' '.join(args)} failed: {result.stderr}")
    return result


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``workers``: run the production layout (gunicorn with that many workers) instead of the
    development server."""

    def __init__(self, env, workers: int | None = None, args: tuple[str, ...] = ()):
        self.env, self.port, self.process, self.workers, self.args = env, free_port(), None, workers, args

    def start(self):
        self.log = tempfile.TemporaryFile()
        production = ["--production", "--workers", str(self.workers)] if self.workers else []
        self.process = subprocess.Popen([sys.executable, "-m", "service.cli", "serve", "--port", str(self.port),
                                         *production, *self.args], env=self.env, stdout=self.log,
                                        stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                self.call("GET", "/api/v1/openapi.json")
                return self
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.05)
        self.process.kill()
        self.log.seek(0)
        output = self.log.read().decode(errors="replace")[-2000:]
        self.log.close()
        raise AssertionError(f"server did not start: {output}")

    def stop(self, sig=signal.SIGTERM) -> str:
        """Stop the server; what it logged."""
        self.process.send_signal(sig)
        self.process.wait(timeout=40)
        self.log.seek(0)
        output = self.log.read().decode(errors="replace")
        self.log.close()
        return output

    def call(self, method, path, token=None, body=None):
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", method=method,
                                         data=json.dumps(body).encode() if body is not None else None)
        request.add_header("Content-Type", "application/json")
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read())
