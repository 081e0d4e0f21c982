"""``atlas-fn invoke`` (issue 12 §3): one call through the same pipeline as HTTP, without a
server, in a real worker process, run as the real command. Contract §2 (validation, signatures),
§5 (the error envelope)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE_APP, ROOT, write_app

ATLAS_FN = [sys.executable, "-m", "runtime"]
SHOP = ROOT / "tests/fixtures/apps/shop_20210101"
SHOP_SECRETS = {"ATLAS_FN_SECRET_orders_secret": "Super5ecr3tPa55w0rd", "ATLAS_FN_SECRET_hello_secret": "hi"}


def invoke(*args: str, cwd: Path = ROOT, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*ATLAS_FN, "invoke", *args], cwd=cwd, capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})})


def sections(stdout: str) -> tuple[str, list[str], str]:
    """(status line, header lines, the rest: body, console, traceback)."""
    head, _, rest = stdout.partition("\n\n")
    status, *headers = head.splitlines()
    return status, headers, rest


def test_a_webhook_by_service_and_name_with_query_prints_status_headers_body_and_console() -> None:
    done = invoke("--app", str(EXAMPLE_APP), "webhooks/hello", "--query", "name=Ada")
    assert done.returncode == 0, done.stderr
    status, headers, rest = sections(done.stdout)
    assert status == "GET /api/client/v2.0/app/example-abcde/service/webhooks/incoming_webhook/hello -> 200"
    assert headers == ["Content-Type: application/json"]
    assert rest == ('{"greeting":"Hello, Ada!","method":"GET","answer":{"$numberInt":"42"}}\n'
                    "\nconsole:\n  hello from 127.0.0.1\n")


def test_sign_uses_the_webhook_s_own_secret_and_without_it_the_call_is_refused() -> None:
    """contract §2.3: VERIFY_PAYLOAD with the secret of app_config's `signed` webhook (12345)."""
    signed = invoke("webhooks/signed", "--body", '{"message":"MESSAGE"}', "--sign")
    assert signed.returncode == 0, signed.stdout + signed.stderr
    assert sections(signed.stdout)[0].endswith("/incoming_webhook/signed -> 201")  # POST: the route's only method
    assert sections(signed.stdout)[2] == '{"received":"MESSAGE","length":{"$numberInt":"21"}}\n'
    unsigned = invoke("webhooks/signed", "--body", '{"message":"MESSAGE"}')
    assert unsigned.returncode == 1
    assert sections(unsigned.stdout)[0].endswith(" -> 401")
    assert json.loads(sections(unsigned.stdout)[2])["error_code"] == "IncomingWebhookAuthFailed"


def test_sign_on_a_secret_query_route_adds_the_secret_which_the_function_never_sees() -> None:
    """contract §2.2: SECRET_AS_QUERY_PARAM; the secret is stripped before the function (§3.3)."""
    done = invoke("webhooks/secret_query", "-q", "page=2", "--sign")
    assert done.returncode == 0, done.stdout
    assert sections(done.stdout)[2] == '{"query":{"page":"2"},"rawQueryString":"page=2"}\n'
    assert "Super5ecr3tPa55w0rd" not in done.stdout


def test_a_drop_in_by_its_name() -> None:
    done = invoke("ping")
    assert done.returncode == 0
    assert sections(done.stdout)[0] == "GET /api/client/v2.0/app/example-abcde/service/http/incoming_webhook/ping -> 200"


@pytest.mark.parametrize(("target", "extra", "expected"), [
    ("/orders", ["--body", '{ "sku": "Hello!" }', "--sign"], ("POST /app/shop-qwert/endpoint/orders -> 201", '{"created":"Hello!"}\n')),
    ("GET /orders", [], ("GET /app/shop-qwert/endpoint/orders -> 200", '[{"sku":"a-1","qty":2},{"sku":"b-7","qty":1}]\n')),
    ("endpoints/hello", ["--sign", "-X", "PUT"], ("PUT /app/shop-qwert/endpoint/hello -> 200",
                                                  '{"hello":"/hello","method":"PUT"}\n')),
])
def test_endpoints_by_route_method_and_route_or_function_name(target: str, extra: list[str], expected: tuple[str, str]) -> None:
    """contract §9 #2: the live test vector's body, signed in Endpoint-Signature by --sign."""
    done = invoke("--app", str(SHOP), target, *extra, env=SHOP_SECRETS)
    assert done.returncode == 0, done.stdout + done.stderr
    status, _, rest = sections(done.stdout)
    assert (status, rest) == expected


def test_a_runtime_error_prints_the_envelope_console_and_traceback_with_file_and_line(tmp_path: Path) -> None:
    write_app(tmp_path / "functions", {"boom.py": """\
        def helper(n):
            return 10 / n


        def exports(payload, response):
            console.log("about to fail")
            return helper(int(payload.query.get("n", "0")))
        """})
    done = invoke("boom", "-q", "n=0", cwd=tmp_path)
    assert done.returncode == 1
    status, headers, rest = sections(done.stdout)
    assert status == "GET /api/client/v2.0/app/local/service/http/incoming_webhook/boom -> 400"
    assert rest == ('{"error":"ZeroDivisionError: division by zero","error_code":"FunctionExecutionError","link":""}\n'
                    "\nconsole:\n  about to fail\n\n"
                    "Traceback (most recent call last):\n"
                    '  File "functions/boom.py", line 7, in exports\n'
                    '    return helper(int(payload.query.get("n", "0")))\n'  # invoke adds the source line
                    '  File "functions/boom.py", line 2, in helper\n'
                    "    return 10 / n\n"
                    "ZeroDivisionError: division by zero\n")
    assert invoke("boom", "-q", "n=5", cwd=tmp_path).returncode == 0


def test_a_javascript_error_shows_the_mapped_stack_with_source_lines(tmp_path: Path) -> None:
    write_app(tmp_path / "functions", {"jsboom.js": """\
        function helper(x) {
          return x.nope.deeper;
        }
        exports = function (payload, response) {
          return helper({});
        };
        """})
    done = invoke("jsboom", cwd=tmp_path)
    assert done.returncode == 1
    assert sections(done.stdout)[2].endswith(
        "    at helper (functions/jsboom.js:2:10)\n      return x.nope.deeper;\n"
        "    at exports (functions/jsboom.js:5:10)\n      return helper({});\n")


def test_a_target_that_names_nothing_lists_what_can_be_invoked() -> None:
    done = invoke("webhooks/nope")
    assert done.returncode == 1 and done.stdout == ""
    assert "'webhooks/nope' names no webhook or endpoint of app 'example-abcde'" in done.stderr
    assert "POST    webhooks/signed" in done.stderr and "ANY     http/ping" in done.stderr
    assert "Traceback" not in done.stderr


def test_sign_on_a_route_without_a_secret_is_an_error() -> None:
    done = invoke("webhooks/hello", "--sign")
    assert done.returncode == 1
    assert "hello has no secret to sign with (validation NO_VALIDATION); leave --sign out" in done.stderr


def test_invoke_opens_the_data_service_and_closes_it(tmp_path: Path) -> None:
    """A function that writes and reads the embedded store; the store stops with the command."""
    write_app(tmp_path / "functions", {"notes.py": """\
        def exports(payload, response):
            notes = context.services.get("mongodb-atlas").db("app").collection("notes")
            notes.insertOne({"text": payload.body.text()})
            return notes.find({}, {"_id": 0}).toArray()
        """})
    data = tmp_path / "data"
    first = invoke("notes", "--body", "one", env={"ATLAS_FN_DATA": str(data)}, cwd=tmp_path)
    assert first.returncode == 0, first.stdout + first.stderr
    second = invoke("notes", "--body", "two", env={"ATLAS_FN_DATA": str(data)}, cwd=tmp_path)
    assert sections(second.stdout)[2] == '[{"text":"one"},{"text":"two"}]\n'  # the first command's write was kept
    assert [pid for pid in Path("/proc").iterdir() if pid.name.isdigit() and str(data) in _cmdline(pid)] == []


def _cmdline(proc: Path) -> str:
    try:
        return (proc / "cmdline").read_bytes().decode("utf-8", "replace")
    except OSError:
        return ""


def test_an_endpoint_that_runs_as_its_caller_takes_the_caller_s_credentials(tmp_path: Path) -> None:
    """contract §2.7: the credentials are checked as the server checks them, and taken out before the function."""
    from runtime.auth.store import UserStore
    from tests.auth.conftest import FIXTURE, SECRETS

    app = tmp_path / "app"
    shutil.copytree(FIXTURE, app)
    user, _ = UserStore(app).create_api_key_user("cli", "c" * 20 + "-invoke-key")
    done = invoke("--app", str(app), "/whoami", "-H", "apiKey: " + "c" * 20 + "-invoke-key", env={**SECRETS, "ATLAS_FN_DATA": "memory"})
    assert done.returncode == 0, done.stdout + done.stderr
    answer = json.loads(sections(done.stdout)[2])
    assert answer["user"]["id"] == user["id"] and answer["system"] is False
    assert "Apikey" not in answer["headers"]  # taken out before the function
    refused = invoke("--app", str(app), "/whoami", env={**SECRETS, "ATLAS_FN_DATA": "memory"})
    assert refused.returncode == 1
    assert json.loads(sections(refused.stdout)[2])["error"] == "no authentication methods were specified"
