"""JavaScript functions served over HTTP (issue 10): the original export's files, through the
real server, the real worker pool and the QuickJS-ng engine."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Serve, write_app

HOOK = "/api/client/v2.0/app/local/service/http/incoming_webhook"


async def test_a_javascript_drop_in_answers_through_the_worker_pool(serve: Serve, tmp_path: Path) -> None:
    functions = write_app(tmp_path / "f", {
        "hello.js": """
            exports = async function(payload, response) {
              const who = payload.query.name || "world";
              return { greeting: `hello ${who}`, id: BSON.ObjectId("5f1f1f1f1f1f1f1f1f1f1f1f"), n: 3 };
            };
        """,
    })
    client = await serve(None, functions, workers=1)
    resp = await client.get(f"{HOOK}/hello?name=ada")
    assert resp.status == 200
    assert await resp.text() == ('{"greeting":"hello ada","id":{"$oid":"5f1f1f1f1f1f1f1f1f1f1f1f"},'
                                 '"n":{"$numberInt":"3"}}')


async def test_a_thrown_javascript_error_is_the_function_error_envelope(serve: Serve, tmp_path: Path) -> None:
    functions = write_app(tmp_path / "f", {"boom.js": "exports = function() { null.x(); };\n"})
    client = await serve(None, functions, workers=1)
    resp = await client.post(f"{HOOK}/boom")
    body = await resp.json()
    assert (resp.status, body["error_code"]) == (400, "FunctionExecutionError")
    assert body["error"].startswith("TypeError: ")


async def test_a_python_port_beside_the_javascript_file_wins(serve: Serve, tmp_path: Path) -> None:
    functions = write_app(tmp_path / "f", {"x.js": "exports = () => 'js';\n",
                                           "x.py": "def exports(payload, response):\n    return 'py'\n"})
    client = await serve(None, functions, workers=1)
    assert await (await client.get(f"{HOOK}/x")).json() == "py"
