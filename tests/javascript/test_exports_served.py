"""A whole export whose functions are the original JavaScript, served (issue 10 "done when"):
``movies_20180301`` (the 2018 ``services/`` layout: an HTTP-service webhook reading MongoDB, a
Twilio webhook whose JS calls a Python port through ``context.functions.execute``, and a GitHub
webhook), against a wire-protocol server reached by ``--mongodb-uri`` holding the movie. The
2020 layouts' original-JS exports are served by test_migrate_diff_js.py (both sides of diff)."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import shutil
from pathlib import Path
from typing import Iterator

import pymongo
import pytest

from tests.conftest import Serve
from tests.services.conftest import SecondServer

APP = Path(__file__).resolve().parents[1] / "fixtures" / "apps" / "movies_20180301"
BASE = "/api/client/v2.0/app/moviecollection-qwxyz/service"


@pytest.fixture
def deployment() -> Iterator[str]:
    second = SecondServer()
    client = pymongo.MongoClient(second.uri)
    client.movies.movies.insert_one({"_id": 1, "title": "Heat", "year": 1995})
    client.close()
    yield second.uri
    second.stop()


async def test_the_2018_export_answers_with_its_own_javascript(serve: Serve, deployment: str, tmp_path: Path) -> None:
    app = tmp_path / "movies"
    shutil.copytree(APP, app)
    (app / "secrets.json").write_text(json.dumps({"imdb_api_key_secret": "k", "twilio_auth_token": "t"}))
    client = await serve(app, None, workers=1, mongodb_uri=deployment)

    found = await client.get(f"{BASE}/IMDB/incoming_webhook/getMovie?secret=letmein&title=Heat")
    assert found.status == 200
    assert json.loads(await found.text()) == {"_id": {"$numberInt": "1"}, "title": "Heat", "year": {"$numberInt": "1995"}}
    assert (await client.get(f"{BASE}/IMDB/incoming_webhook/getMovie?secret=wrong&title=Heat")).status == 401

    sms = await client.post(f"{BASE}/IMDB_Twilio/incoming_webhook/smsIn", data={"Body": "  Heat  ", "From": "+100"})
    assert sms.status == 200, await sms.text()  # respond_result false: the JS callee's value (a Python port's) is not the body

    event = json.dumps({"repository": {"name": "movies"}}).encode()
    signature = "sha1=" + hmac.new(b"mongostitchgithub", event, hashlib.sha1).hexdigest()
    push = await client.post(f"{BASE}/github/incoming_webhook/push", data=event,
                             headers={"X-Hub-Signature": signature, "X-GitHub-Event": "push", "Content-Type": "application/json"})
    assert push.status == 200, await push.text()


def test_the_fixture_is_the_original_javascript() -> None:
    """Guard: the webhooks served above are .js files (no Python port beside them)."""
    for hook in ("IMDB/incoming_webhooks/getMovie", "IMDB_Twilio/incoming_webhooks/smsIn", "github/incoming_webhooks/push"):
        folder = APP / "services" / hook
        assert (folder / "source.js").is_file() and not (folder / "source.py").exists()
        assert re.match(r"exports = function", (folder / "source.js").read_text())
