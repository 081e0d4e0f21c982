"""The local user store and `atlas-fn users` (issue 13 §1): hashes only, atomic writes, restarts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from runtime.auth.store import UserStore
from tests.auth.conftest import FIXTURE

ATLAS_FN = [sys.executable, "-m", "runtime"]


def test_keys_and_passwords_are_kept_only_as_salted_hashes(tmp_path: Path) -> None:
    store = UserStore(tmp_path)
    user, key = store.create_api_key_user("ci", "the-key-itself")
    other, _ = store.create_api_key_user("ci2", "the-key-itself")  # same key, different salt
    store.create_password_user("a@b.example", "pass-word-itself")
    text = (tmp_path / ".atlas-fn" / "auth" / "users.json").read_text()
    assert "the-key-itself" not in text and "pass-word-itself" not in text
    saved = json.loads(text)["users"]
    assert saved[0]["api_keys"][0]["hash"] != saved[1]["api_keys"][0]["hash"]
    assert len(user["id"]) == 24 and int(user["id"], 16) >= 0
    assert "hash" not in json.dumps(store.users())
    assert UserStore(tmp_path).by_api_key("the-key-itself")["id"] in {user["id"], other["id"]}
    assert UserStore(tmp_path).by_api_key("another") is None
    assert UserStore(tmp_path).by_password("a@b.example", "pass-word-itself") is not None
    assert UserStore(tmp_path).by_password("a@b.example", "wrong") is None
    assert oct((tmp_path / ".atlas-fn" / "auth" / "users.json").stat().st_mode & 0o777) == "0o600"


def test_a_change_by_another_process_is_seen(tmp_path: Path) -> None:
    server_side = UserStore(tmp_path)
    assert server_side.by_api_key("late-key") is None
    UserStore(tmp_path).create_api_key_user("late", "late-key")
    assert server_side.by_api_key("late-key") is not None
    server_side_user = server_side.by_api_key("late-key")
    assert UserStore(tmp_path).delete(server_side_user["id"])
    assert server_side.by_api_key("late-key") is None  # the remembered verification went with the file


def test_the_users_command(tmp_path: Path) -> None:
    app = tmp_path / "app"
    app.mkdir()

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*ATLAS_FN, "users", *args, "--app", str(app)], capture_output=True, text=True, timeout=60)

    made = run("create", "--api-key", "ci", "--key", "K-123")
    assert made.returncode == 0, made.stderr
    user_id = made.stdout.split()[1]
    assert "api key K-123" in made.stdout
    random = run("create", "--api-key", "ci-random")
    assert len(random.stdout.splitlines()[1].split()[2]) >= 40  # a fresh key, shown once
    assert run("create", "--email", "x@y.example", "--password", "pw").returncode == 0
    twice = run("create", "--api-key", "ci")
    assert twice.returncode == 1 and "an API key named 'ci' exists already" in twice.stderr
    assert run("create", "--email", "z@y.example").returncode == 2
    listed = run("list").stdout
    assert f"{user_id}  server  api key 'ci'" in listed and "email 'x@y.example'" in listed and "pw" not in listed
    assert run("delete", user_id).returncode == 0
    assert user_id not in run("list").stdout
    gone = run("delete", user_id)
    assert gone.returncode == 1 and f"no user {user_id!r}" in gone.stderr
    assert not (app / "functions").exists() and (app / ".atlas-fn" / "auth" / "users.json").is_file()
    assert FIXTURE.is_dir()


def test_the_token_key_is_made_once_and_kept(tmp_path: Path) -> None:
    first, second = UserStore(tmp_path), UserStore(tmp_path)
    key = first.signing_key()
    assert len(key) == 32 and second.signing_key() == key
    path = tmp_path / ".atlas-fn" / "auth" / "token.key"
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert [p.name for p in path.parent.iterdir()] == ["token.key"]  # no temporary file left
