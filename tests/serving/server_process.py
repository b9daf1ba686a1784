"""`riskrank serve` as a real process on 127.0.0.1, for fault tests: start, SIGKILL, restart, read its log."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from riskrank.settings import Settings
from tests.serving.conftest import free_port

RISKRANK = [sys.executable, "-c", "from riskrank.cli import main; main()"]


def server_env(settings: Settings, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RISKRANK_")}
    env.update({
        "RISKRANK_DATABASE_URL": settings.database_url, "RISKRANK_MLFLOW_TRACKING_URI": settings.mlflow_tracking_uri,
        "RISKRANK_MODEL_NAME": settings.model_name, "RISKRANK_PSEUDONYM_KEY": settings.pseudonym_key,
        "RISKRANK_MODEL_POLL_SECONDS": str(settings.model_poll_seconds), **extra,
    })
    return env


class ServerProcess:
    def __init__(self, env: dict[str, str], log_file: Path) -> None:
        self.env, self.log_file = env, log_file
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self, wait_ready: bool = True, timeout: float = 120) -> None:
        with self.log_file.open("a") as log:
            self.process = subprocess.Popen([*RISKRANK, "serve", "--port", str(self.port), "--log-level", "debug"],
                                            env=self.env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}:\n{self.log()}")
            try:
                if httpx.get(f"{self.url}/ready", timeout=5).status_code == 200 or not wait_ready:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"server not ready within {timeout} s:\n{self.log()}")

    def kill(self) -> None:
        """SIGKILL: no shutdown handler, no flush; what was committed must be all there is."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()

    def log(self) -> str:
        return self.log_file.read_text(errors="replace") if self.log_file.exists() else ""
