"""Shared helpers for the template tests: paths, the template loader, a private moto server."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "cloudformation" / "template.yaml"
SCRIPTS = REPO / "scripts"

sys.path.insert(0, str(SCRIPTS))
import check_template  # noqa: E402  (scripts/check_template.py)


def load_template() -> dict:
    return check_template.load_template(TEMPLATE)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Moto:
    """moto_server on a free loopback port, for one test module."""

    def __init__(self) -> None:
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        server = shutil.which("moto_server")
        command = [server] if server else [sys.executable, "-m", "moto.server"]
        self.log = open(os.devnull, "w")
        self.process = subprocess.Popen(
            command + ["-H", "127.0.0.1", "-p", str(self.port)],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{self.endpoint}/moto-api/", timeout=1)
                return
            except OSError:
                if self.process.poll() is not None:
                    raise RuntimeError(
                        "moto_server exited at start; install it: python3 -m pip install 'moto[server]==5.2.1'"
                    )
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"moto_server did not answer on {self.endpoint}")
                time.sleep(0.1)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
