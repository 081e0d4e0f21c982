"""Users end to end with a real `atlas-fn serve` process (issue 13): users made by `atlas-fn users`
survive a restart (and so do their tokens: the token key is kept beside the user store), and no
credential reaches a function's payload, its console or any line the server writes."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from tests.auth.conftest import APP_ID, JWT_KEY, SECRETS, DataApi, custom_jwt, endpoint, login_url
from tests.waiting import Lines

ATLAS_FN = [sys.executable, "-m", "runtime"]


class Served:
    def __init__(self, app: Path) -> None:
        env = {**os.environ, **SECRETS, "ATLAS_FN_DATA": "memory"}
        self.proc = subprocess.Popen([*ATLAS_FN, "serve", "--app", str(app), "--port", "0", "--workers", "1"],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        self.lines = Lines(self.proc.stdout)  # type: ignore[arg-type]
        self.seen = self.lines.until(lambda line: "listening on" in line or "atlas-fn serve:" in line)
        match = re.search(r"listening on (http://127\.0\.0\.1:\d+)", self.seen[-1])
        assert match, "".join(self.seen)
        self.base = match.group(1)

    def request(self, path: str, headers: dict[str, str] | None = None, body: Any = None) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, headers=headers or {},
                                         method="POST" if data is not None else "GET")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    def stop(self) -> str:
        """Stop it; everything it wrote."""
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=30)
        rest = []
        while line := self.lines.next(timeout=10):
            rest.append(line)
        return "".join(self.seen + rest)


def test_users_survive_a_restart_and_no_credential_is_ever_written(data_api: DataApi) -> None:
    made = subprocess.run([*ATLAS_FN, "users", "create", "--app", str(data_api.root), "--api-key", "cli",
                           "--key", "cli-key-0123456789"], capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    user_id = made.stdout.split()[1]
    password = "correct horse"
    jwt = custom_jwt(sub="served-1")
    first = Served(data_api.root)
    try:
        status, body = first.request(endpoint("/whoami/js"), {"apiKey": "cli-key-0123456789", "X-Seen": "yes"})
        assert status == 200 and body["user"]["id"] == user_id
        assert first.request(endpoint("/whoami"), {"email": "ada@example.com", "password": password})[0] == 200
        assert first.request(endpoint("/whoami/jwt"), {"jwtTokenString": jwt})[0] == 200
        status, tokens = first.request(login_url("api-key"), body={"key": "cli-key-0123456789"})
        assert status == 200 and tokens["user_id"] == user_id
        status, called = first.request(endpoint("/whoami/js"), {"Authorization": f"Bearer {tokens['access_token']}"})
        assert status == 200 and json.dumps(called).count(tokens["access_token"]) == 0
        assert first.request(endpoint("/whoami"), {"apiKey": "wrong-key-0123456789"})[0] == 401
    finally:
        first_output = first.stop()
    second = Served(data_api.root)
    try:
        status, body = second.request(endpoint("/whoami"), {"apiKey": "cli-key-0123456789"})
        assert status == 200 and body["user"]["id"] == user_id  # the user survived the restart
        status, body = second.request(endpoint("/whoami"), {"Authorization": f"Bearer {tokens['access_token']}"})
        assert status == 200 and body["user"]["id"] == user_id  # and so did the access token
        status, body = second.request("/api/client/v2.0/auth/session", {"Authorization": f"Bearer {tokens['refresh_token']}"}, {})
        assert status == 201 and "access_token" in body
    finally:
        second_output = second.stop()
    output = first_output + second_output
    assert "headers {" in output and "X-Seen" in output  # the function logged its request headers: they are there
    for secret in ("cli-key-0123456789", "wrong-key-0123456789", password, jwt, JWT_KEY, tokens["access_token"],
                   tokens["refresh_token"]):
        assert secret not in output
    stored = (data_api.root / ".atlas-fn" / "auth" / "users.json").read_text()
    assert "cli-key-0123456789" not in stored and password not in stored
    assert APP_ID in output or "listening on" in output
