"""``atlas-fn diff``: a webhook and its converted endpoint, the same requests, every difference
(issue 3 §3; contract §2.3, §4.2, §4.3, §6).

The comparison is pure and tested on plain values. Only two tests start the app (a real worker
pool of two processes each): the migrated fixture app, which shows the documented
respond_result difference (``setStatusCode(200); return "Hello world"``), and a run over the
``setBody`` webhooks with a request file, which shows none.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from runtime.tools import diff
from runtime.cli import main
from runtime.tools.comparison import Observed, compare, show_body

FIXTURES = Path(__file__).resolve().parent / "fixtures"
MIGRATED_APP = FIXTURES / "migrated" / "convert_20210101"
SOURCE_APP = FIXTURES / "apps" / "convert_20210101"
JSON_TYPE = (("Content-Type", "application/json"),)
WEBHOOK_PATH = "/api/client/v2.0/app/a/service/h/incoming_webhook/x"
ENDPOINT_PATH = "/app/a/endpoint/h/x"


def answer(status: int = 200, headers: tuple[tuple[str, str], ...] = (), body: bytes = b"") -> Observed:
    return Observed(status, headers, body)


def copy_app(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    (target / "secrets.fixture.json").rename(target / "secrets.json")
    return target


# --- the pure comparison ------------------------------------------------------------------------


def test_identical_answers_have_no_difference() -> None:
    same = answer(201, (("Content-Type", "text/plain"), ("X-A", "1"), ("X-A", "2")), b"created")
    assert compare(same, same) == []


def test_the_respond_result_difference_is_known() -> None:
    """contract §4.2: setStatusCode(200); return "Hello world" — the webhook sends no body."""
    found = compare(answer(200), answer(200, JSON_TYPE, b'"Hello world"'), respond_result=True)
    assert [(d.part, d.name, d.webhook, d.endpoint, d.known) for d in found] == [
        ("header", "Content-Type", "(absent)", "application/json", "respond_result"),
        ("body", "", "(empty)", '"Hello world" (13 bytes)', "respond_result"),
    ]
    assert found[1].note == "the webhook sent no body; the endpoint sent the return value"
    assert found[1].known_text is not None and found[1].known_text.startswith("known (contract §4.2)")


def test_an_empty_webhook_body_beside_another_status_is_not_the_respond_result_case() -> None:
    envelope = b'{"error":"request signature did not match","error_code":"IncomingWebhookAuthFailed","link":"x"}'
    found = compare(answer(200), answer(401, JSON_TYPE, envelope), respond_result=True)
    assert [(d.part, d.known) for d in found] == [("status", None), ("header", None), ("body", None)]


def test_the_same_value_in_ejson_and_json_is_a_known_format_difference() -> None:
    found = compare(answer(200, JSON_TYPE, b'{"a":{"$numberInt":"1"}}'), answer(200, JSON_TYPE, b'{"a":1}'))
    assert [(d.part, d.note, d.known) for d in found] == [("body", "same value, different format (EJSON vs JSON)", "format")]


def test_values_equal_once_mapped_to_json_are_the_same_value() -> None:
    """contract §4.3: a date is {"$date": …} in EJSON and an ISO string in JSON."""
    webhook = b'{"when":{"$date":{"$numberLong":"1641954803067"}},"n":{"$numberLong":"2147483648"}}'
    endpoint = b'{"when":"2022-01-12T02:33:23.067Z","n":2147483648}'
    [found] = compare(answer(body=webhook), answer(body=endpoint))
    assert (found.note, found.known) == ("same value, different format (EJSON vs JSON)", "format")


def test_different_values_are_listed_by_path_and_booleans_are_not_numbers() -> None:
    [found] = compare(answer(body=b'{"a":true,"b":[1,2],"c":"x"}'), answer(body=b'{"a":1,"b":[1,3],"d":"x"}'))
    assert found.known is None
    assert found.note == 'the values differ at $.a: true vs 1; $.b[1]: 2 vs 3; $.c: "x" vs (absent); $.d: (absent) vs "x"'


def test_the_signature_header_seen_by_the_function_is_known() -> None:
    webhook = b'{"headers":{"Accept":["*/*"],"X-Hook-Signature":["sha256=ab"]},"url":"http://h/api/x"}'
    endpoint = b'{"headers":{"Accept":["*/*"],"Endpoint-Signature":["sha256=ab"]},"url":"http://h/api/x"}'
    [found] = compare(answer(body=webhook), answer(body=endpoint))
    assert found.known == "signature_header"
    assert found.note.startswith('the values differ at $.headers["X-Hook-Signature"]: ["sha256=ab"] vs (absent)')


def test_an_untouched_endpoint_without_respond_result_answers_204() -> None:
    [found] = compare(answer(200), answer(204))
    assert (found.part, found.webhook, found.endpoint, found.known) == ("status", "200", "204", "no_content")


def test_headers_compare_by_name_case_and_every_value_in_order() -> None:
    webhook = (("Date", "Mon"), ("Server", "a"), ("Content-Length", "1"), ("x-digest", "1"), ("X-Digest", "2"), ("X-Only", "w"))
    endpoint = (("Date", "Tue"), ("Server", "b"), ("Content-Length", "9"), ("X-Digest", "2"), ("X-Digest", "1"),
                ("Cache-Control", "no-store"))  # fmt: skip
    found = compare(answer(200, webhook), answer(200, endpoint))
    assert [(d.name, d.webhook, d.endpoint, d.note) for d in found] == [
        ("x-digest", "1 | 2", "2 | 1", "the same values in a different order"),
        ("X-Only", "w", "(absent)", "only in the webhook's answer"),
        ("Cache-Control", "(absent)", "no-store", "only in the endpoint's answer"),
    ]


def test_error_envelopes_ignore_their_link_and_own_url() -> None:
    webhook = json.dumps({"error": f"the function failed at {WEBHOOK_PATH}", "error_code": "FunctionExecutionError",
                          "link": "http://127.0.0.1/_atlas-fn/logs?co_id=1"}).encode()
    endpoint = json.dumps({"error": f"the function failed at {ENDPOINT_PATH}", "error_code": "FunctionExecutionError",
                           "link": "http://127.0.0.1/_atlas-fn/logs?co_id=2"}).encode()
    paths = {"webhook_url_path": WEBHOOK_PATH, "endpoint_url_path": ENDPOINT_PATH}
    assert compare(answer(400, JSON_TYPE, webhook), answer(400, JSON_TYPE, endpoint), **paths) == []
    other = endpoint.replace(b"FunctionExecutionError", b"ExecutionTimeLimitExceeded")
    [found] = compare(answer(400, JSON_TYPE, webhook), answer(400, JSON_TYPE, other), **paths)
    assert found.note == 'the values differ at $.error_code: "FunctionExecutionError" vs "ExecutionTimeLimitExceeded"'


def test_text_and_binary_bodies() -> None:
    [found] = compare(answer(body=b"created: a"), answer(body=b"created: b"))
    assert (found.webhook, found.endpoint, found.note) == ("created: a (10 bytes)", "created: b (10 bytes)",
                                                           "the bytes differ from offset 9")
    assert show_body(b"\xff\x00") == "2 bytes, not UTF-8 (starts ff00)"


# --- requests and signing ------------------------------------------------------------------------


def test_each_side_is_signed_as_its_contract_requires() -> None:
    """contract §2.3 and §9 #1: the docs' body with secret 12345."""
    request = diff.DiffRequest("POST", "a=1&secret=given", (("X-Hook-Signature", "stale"),), b'{"message":"MESSAGE"}')
    expected = "sha256=828ee180512eaf8a6229eda7eea72323f68e9c0f0093b11a578b0544c5777862"
    assert diff.signed(request, "webhook", "http", "VERIFY_PAYLOAD", "12345", request.body or b"") == (
        "a=1&secret=given", [("X-Hook-Signature", expected)])
    assert diff.signed(request, "endpoint", "http", "VERIFY_PAYLOAD", "12345", request.body or b"") == (
        "a=1&secret=given", [("X-Hook-Signature", "stale"), ("Endpoint-Signature", expected)])
    assert diff.signed(request, "endpoint", "http", "SECRET_AS_QUERY_PARAM", "s&1", b"") == (
        "a=1&secret=s%261", [("X-Hook-Signature", "stale")])
    assert diff.signed(request, "webhook", "github", "", "12345", b"")[1][-1] == (
        "X-Hub-Signature-256", "sha256=d70d88cd9adf9f928472cc95f58b1415a985df03f4e23841304ea1d1db05433e")
    assert diff.shown_query("a=1&secret=s%261") == "a=1&secret=<secret>"


def test_a_request_file(tmp_path: Path) -> None:
    path = tmp_path / "requests.json"
    path.write_text(json.dumps([
        {"method": "PUT", "query": {"a": "1", "b": ["2", "3"]}, "headers": {"X-A": ["1", "2"]}, "body": "text"},
        {"query": "?x=%20", "headers": [["X-B", "1"]], "body": {"base64": "/wA="}, "webhook": "h/x"},
    ]))
    assert diff.load_requests(path) == [
        diff.DiffRequest("PUT", "a=1&b=2&b=3", (("X-A", "1"), ("X-A", "2")), b"text"),
        diff.DiffRequest(None, "x=%20", (("X-B", "1"),), b"\xff\x00", "h/x"),
    ]


@pytest.mark.parametrize(("content", "message"), [
    ("{", "invalid JSON: Expecting property name enclosed in double quotes"),
    ("[]", "$: expected a non-empty JSON array of requests"),
    ('[{"methods": "GET"}]', "$[0]: unknown key 'methods'; allowed: method, query, headers, body, webhook"),
    ('[{"method": "get"}]', '$[0].method: "get" is not allowed; allowed: an upper-case HTTP method such as GET or POST'),
    ('[{"body": {"base64": "***"}}]', '$[0].body: {"base64": "***"} is not allowed; allowed: text, {"base64": '),
    ('[{"headers": {"X": 1}}]', "$[0].headers: {\"X\": 1} is not allowed"),
])  # fmt: skip
def test_a_bad_request_file_is_refused(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "requests.json"
    path.write_text(content)
    with pytest.raises(diff.DiffInputError) as caught:
        diff.load_requests(path)
    assert str(caught.value).startswith(f"{path}: {message}")


# --- the command, without a server -------------------------------------------------------------


def test_unconverted_webhooks_are_listed_and_no_server_starts(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    app = copy_app(SOURCE_APP, tmp_path / "app")
    monkeypatch.setattr("runtime.http.server.build_app", lambda *a, **k: pytest.fail("a server was started"))
    assert main(["diff", str(app)]) == 1
    out = capsys.readouterr().out
    assert "hooks/greet: not converted: run atlas-fn migrate\n" in out
    assert "gh/push: known (contract §6): not converted, port by hand: their payload shape changes" in out
    assert "billing/ping: not converted, port by hand: endpoints take no HEAD method" in out
    assert out.endswith("result: 0 differences (0 known, 0 unexpected), 5 not converted; exit 1\n")


def test_bad_input_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diff", str(tmp_path / "missing")]) == 2
    assert "not a folder; expected an exported App Services app folder" in capsys.readouterr().err
    app = copy_app(MIGRATED_APP, tmp_path / "app")
    assert main(["diff", str(app), "--webhook", "hooks/nope"]) == 2
    assert "--webhook hooks/nope: no such webhook; webhooks: billing/ping, gh/push, hooks/authed" in capsys.readouterr().err
    (app / "secrets.json").unlink()
    assert main(["diff", str(app)]) == 2
    assert "secret 'hooks_setbody_secret' has no value" in capsys.readouterr().err


# --- the app, served: two runs of a real worker pool --------------------------------------------


def assert_only_the_documented_differences(report: dict) -> None:
    """The report of ``diff`` on the converted fixture app: three differences, all documented
    (respond_result and the EJSON/JSON format), whichever language its functions are in."""
    assert report["summary"] == {"webhooks": 7, "compared": 5, "not_converted": 0, "manual_port": 2,
                                 "differences": 3, "known": 3, "unexpected": 0}
    hooks = {entry["webhook"]: entry for entry in report["webhooks"]}
    [greet] = hooks["hooks/greet"]["requests"]
    assert (greet["webhook"]["status"], greet["webhook"]["body"]) == (200, {"text": ""})
    assert (greet["endpoint"]["status"], greet["endpoint"]["body"]) == (200, {"text": '"Hello world"'})
    assert [(d["part"], d["webhook"], d["endpoint"], d["known"]) for d in greet["differences"]] == [
        ("header", "(absent)", "application/json", "respond_result"),
        ("body", "(empty)", '"Hello world" (13 bytes)', "respond_result"),
    ]
    [query] = hooks["hooks/query"]["requests"]
    assert [(d["note"], d["known"]) for d in query["differences"]] == [("same value, different format (EJSON vs JSON)", "format")]
    assert query["query"] == "source=atlas-fn-diff"  # the secret added for each side is never shown
    for name in ("hooks/setbody", "hooks/authed", "hooks/echo-method"):
        [exchange] = hooks[name]["requests"]
        assert exchange["differences"] == [], name
    assert hooks["hooks/setbody"]["requests"][0]["endpoint"]["body"] == {"text": "created: Hello from atlas-fn diff"}
    assert (hooks["gh/push"]["state"], hooks["billing/ping"]["state"]) == ("manual_port", "manual_port")


def test_the_migrated_app_shows_only_the_documented_differences(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    app = copy_app(MIGRATED_APP, tmp_path / "app")
    report_path = tmp_path / "report.json"
    assert main(["diff", str(app), "--json", str(report_path)]) == 1
    assert_only_the_documented_differences(json.loads(report_path.read_text()))
    out = capsys.readouterr().out
    assert "    body: webhook (empty) | endpoint \"Hello world\" (13 bytes)\n" in out
    assert "s3cr3t" not in out and "q-secret-1" not in out and "s3cr3t" not in report_path.read_text()
    assert out.endswith("result: 3 differences (3 known, 0 unexpected), 0 not converted; exit 1\n")


def test_setbody_webhooks_show_no_difference(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    app = copy_app(MIGRATED_APP, tmp_path / "app")
    requests = tmp_path / "requests.json"
    requests.write_text(json.dumps([
        {"method": "POST", "headers": {"Content-Type": "application/json"}, "body": '{"message": "from a file"}'},
        {"method": "DELETE", "query": {"page": "2"}, "webhook": "hooks/echo-method"},
        {"method": "PUT", "body": {"base64": "eyJtZXNzYWdlIjoiYmFzZTY0In0="}, "webhook": "hooks/setbody"},
    ]))
    argv = ["diff", str(app), "--webhook", "hooks/setbody", "--webhook", "hooks/echo-method", "--request", str(requests)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "  request 1 (POST, 26-byte body): no difference (status 201)\n" in out
    assert "  request 2 (PUT, 20-byte body): no difference (status 405)\n" in out  # setbody is POST only: both refuse
    assert "  request 2 (DELETE ?page=2, no body): no difference (status 200)\n" in out
    assert out.endswith("result: 0 differences (0 known, 0 unexpected), 0 not converted; exit 0\n")
