"""The local user store of one app: users, their identities, API keys and passwords (issue 13).

Owns: ``UserStore`` over ``<app>/.atlas-fn/auth/`` (beside the app's data, never in the functions
folder): ``users.json`` (written whole to a temporary file, flushed, then renamed over the old one,
so a crash leaves the old file or the new one) and ``token.key`` (the app's key for access and
refresh tokens, made on first use, mode 0600; only the server and ``atlas-fn users`` read it, no
worker ever holds it). Users have ObjectId-hex ids, identities ``{id, provider_type,
provider_id}``, ``data`` (email, API key name, custom JWT metadata); API keys and passwords are kept
only as salted ``hashlib.scrypt`` hashes (memory-hard: n=2**14, r=8, p=1, 16 MiB), compared in
constant time. An API key carries a 4-hex-digit tag of its SHA-256 so a lookup hashes only the
keys that may match. Verified credentials are remembered in memory (by their SHA-256) until the
file changes, so a caller pays the KDF once, not per request. The file is re-read when another
process (``atlas-fn users``) changed it. Must not: import aiohttp, keep a credential in clear
anywhere, or log one.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import threading
import time
from pathlib import Path
from typing import Any

from runtime.errors import UserStoreError

SCRYPT = {"n": 2 ** 14, "r": 8, "p": 1, "maxmem": 64 * 1024 * 1024, "dklen": 32}
FOLDER = Path(".atlas-fn") / "auth"
USERS_FILE = "users.json"
KEY_FILE = "token.key"
MAX_REMEMBERED = 4096


def store_folder(app_root: Path) -> Path:
    return app_root / FOLDER


def new_object_id(now: float | None = None) -> str:
    """An ObjectId's 24 hex digits: 4 bytes of seconds, 8 random bytes (MongoDB's layout)."""
    return int(now if now is not None else time.time()).to_bytes(4, "big").hex() + secrets.token_hex(8)


def _hash(secret: str, salt: bytes) -> str:
    return hashlib.scrypt(secret.encode("utf-8", "surrogatepass"), salt=salt, **SCRYPT).hex()


def _hashed(secret: str) -> dict[str, str]:
    salt = secrets.token_bytes(16)
    return {"salt": salt.hex(), "hash": _hash(secret, salt)}


def _matches(secret: str, stored: dict[str, str]) -> bool:
    try:
        return hmac.compare_digest(_hash(secret, bytes.fromhex(stored["salt"])), stored["hash"])
    except (KeyError, ValueError, TypeError):
        return False


def _tag(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:4]


class UserStore:
    """One app's users. Thread-safe for the server (one lock); every write goes to disk at once."""

    def __init__(self, app_root: Path) -> None:
        self.folder = store_folder(app_root)
        self.path = self.folder / USERS_FILE
        self._lock = threading.Lock()
        self._users: list[dict[str, Any]] = []
        self._seen: tuple[int, int] | None = None  # (mtime_ns, size) of the file last read
        self._remembered: dict[tuple[str, str], str] = {}  # (kind, sha256 of the credential) -> user id

    # --- the file ------------------------------------------------------------------------
    def _stamp(self) -> tuple[int, int] | None:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return None
        return stat.st_mtime_ns, stat.st_size

    def _load(self) -> None:
        stamp = self._stamp()
        if stamp == self._seen and (stamp is not None or not self._users):
            return
        self._remembered.clear()
        if stamp is None:
            self._users, self._seen = [], None
            return
        try:
            doc = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise UserStoreError(f"the user store {self.path} cannot be read: {exc}; allowed: the JSON file "
                                 "atlas-fn users writes") from None
        users = doc.get("users") if isinstance(doc, dict) else None
        if not isinstance(users, list) or not all(isinstance(u, dict) and isinstance(u.get("id"), str) for u in users):
            raise UserStoreError(f"the user store {self.path} is not a list of users; allowed: the JSON file atlas-fn users writes")
        self._users, self._seen = users, stamp

    def _save(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_name(f".{USERS_FILE}.{os.getpid()}.tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump({"version": 1, "users": self._users}, out, indent=1)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, self.path)
        self._seen = self._stamp()
        self._remembered.clear()

    def signing_key(self) -> bytes:
        """The app's token key (32 random bytes), made on first use."""
        path = self.folder / KEY_FILE
        with self._lock:
            try:
                return bytes.fromhex(path.read_text(encoding="ascii").strip())
            except FileNotFoundError:
                pass
            except ValueError:
                raise UserStoreError(f"{path} is not a token key; allowed: delete it and atlas-fn makes a new one") from None
            self.folder.mkdir(parents=True, exist_ok=True)
            key = secrets.token_bytes(32)
            temporary = path.with_name(f".{KEY_FILE}.{os.getpid()}.tmp")
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="ascii") as out:
                out.write(key.hex())
                out.flush()
                os.fsync(out.fileno())
            try:
                os.link(temporary, path)  # the first process to make the key wins; the others read it
            except FileExistsError:
                key = bytes.fromhex(path.read_text(encoding="ascii").strip())
            finally:
                os.unlink(temporary)
            return key

    # --- reading ---------------------------------------------------------------------------
    def users(self) -> list[dict[str, Any]]:
        """Every user, without hashes (for ``atlas-fn users list``)."""
        with self._lock:
            self._load()
            return [public(user) for user in self._users]

    def by_id(self, user_id: str) -> dict[str, Any] | None:
        with self._lock:
            self._load()
            found = next((u for u in self._users if u["id"] == user_id), None)
            return public(found) if found is not None else None

    def by_api_key(self, key: str) -> dict[str, Any] | None:
        return self._verified("api-key", key, lambda user: any(
            k.get("tag") == _tag(key) and _matches(key, k) and not k.get("disabled") for k in user.get("api_keys", [])))

    def by_password(self, email: str, password: str) -> dict[str, Any] | None:
        return self._verified("local-userpass", f"{email}\0{password}", lambda user: (
            user.get("password", {}).get("email") == email and _matches(password, user["password"])))

    def by_identity(self, provider_type: str, identity_id: str) -> dict[str, Any] | None:
        with self._lock:
            self._load()
            for user in self._users:
                if any(i.get("provider_type") == provider_type and i.get("id") == identity_id for i in user.get("identities", [])):
                    return public(user)
        return None

    def _verified(self, kind: str, credential: str, test: Any) -> dict[str, Any] | None:
        digest = (kind, hashlib.sha256(credential.encode("utf-8", "surrogatepass")).hexdigest())
        with self._lock:
            self._load()
            known = self._remembered.get(digest)
            for user in self._users:
                if (known is None and test(user)) or user["id"] == known:
                    if len(self._remembered) >= MAX_REMEMBERED:
                        self._remembered.clear()
                    self._remembered[digest] = user["id"]
                    return public(user)
        return None

    # --- writing ---------------------------------------------------------------------------
    def create_api_key_user(self, name: str, key: str | None = None) -> tuple[dict[str, Any], str]:
        """A user with one API key named ``name``: (the user, the key — shown once, never stored)."""
        key = key or secrets.token_urlsafe(48)
        user_id, key_id = new_object_id(), new_object_id()
        user = {"id": user_id, "type": "server", "data": {"name": name},
                "identities": [{"id": key_id, "provider_type": "api-key", "provider_id": "api-key"}],
                "api_keys": [{"id": key_id, "name": name, "tag": _tag(key), **_hashed(key)}]}
        self._add(user, lambda u: any(k.get("name") == name for k in u.get("api_keys", [])), f"an API key named {name!r}")
        return public(user), key

    def create_password_user(self, email: str, password: str) -> dict[str, Any]:
        if not email or "@" not in email or not password:
            raise UserStoreError("a local-userpass user needs an email address and a non-empty password")
        user = {"id": new_object_id(), "type": "normal", "data": {"email": email},
                "identities": [{"id": new_object_id(), "provider_type": "local-userpass", "provider_id": "local-userpass"}],
                "password": {"email": email, **_hashed(password)}}
        self._add(user, lambda u: u.get("password", {}).get("email") == email, f"the email {email!r}")
        return public(user)

    def create_identity_user(self, provider_type: str, identity_id: str, data: dict[str, Any]) -> dict[str, Any]:
        """A user first seen through ``provider_type`` (custom JWT ``create_user_on_auth``, anonymous)."""
        user = {"id": new_object_id(), "type": "normal", "data": data,
                "identities": [{"id": identity_id, "provider_type": provider_type, "provider_id": provider_type}]}
        self._add(user, lambda u: False, "")
        return public(user)

    def _add(self, user: dict[str, Any], clash: Any, what: str) -> None:
        with self._lock:
            self._load()
            if any(clash(other) for other in self._users):
                raise UserStoreError(f"a user with {what} exists already; allowed: a new one, or delete that user first")
            self._users.append(user)
            self._save()

    def delete(self, user_id: str) -> bool:
        with self._lock:
            self._load()
            kept = [u for u in self._users if u["id"] != user_id]
            if len(kept) == len(self._users):
                return False
            self._users = kept
            self._save()
            return True


def public(user: dict[str, Any]) -> dict[str, Any]:
    """A user as functions and ``users list`` see it: no hashes, no salts, no tags."""
    return {"id": user["id"], "type": user.get("type", "normal"), "data": dict(user.get("data", {})),
            "identities": [dict(i) for i in user.get("identities", [])],
            "api_keys": [{"id": k.get("id"), "name": k.get("name")} for k in user.get("api_keys", [])]}
