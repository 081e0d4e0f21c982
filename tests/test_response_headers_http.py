"""The most headers a function may set still make an answer that common HTTP clients read.

Red-team finding: Python's ``http.client`` refuses a response of more than 100 header lines
("got more than 100 headers"); a function could set 100 and the server adds its own. These
run the real server (in-process runner) and read its answer with ``http.client``.
"""

from __future__ import annotations

import asyncio
import http.client
from pathlib import Path

import pytest

from runtime.contract.response import MAX_HEADERS
from tests.conftest import Serve, webhook_config, write_app

URL = "/api/client/v2.0/app/local/service/s/incoming_webhook/h"


def app_adding(tmp_path: Path, count: int, connection_close: bool = False) -> Path:
    return write_app(tmp_path / "app", {
        "services/s/config.json": {"name": "s", "type": "http"},
        "services/s/incoming_webhooks/h/config.json": webhook_config("h", "GET"),
        "services/s/incoming_webhooks/h/source.py": (
            "def exports(payload, response):\n"
            f"    for n in range({count}):\n"
            "        response.addHeader('X-N', str(n))\n"
            "    response.setBody('ok')\n"
        ),
    })


def fetch(port: int, close: bool) -> tuple[int, list[tuple[str, str]], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", URL, headers={"Connection": "close"} if close else {})
        answer = connection.getresponse()
        return answer.status, answer.getheaders(), answer.read()
    finally:
        connection.close()


@pytest.mark.parametrize("close", [False, True], ids=["keep-alive", "connection-close"])
async def test_http_client_reads_an_answer_with_the_most_headers_a_function_may_set(serve: Serve, tmp_path: Path, close: bool) -> None:
    client = await serve(app_adding(tmp_path, MAX_HEADERS), None, pool=False)
    status, headers, body = await asyncio.to_thread(fetch, client.port, close)
    assert (status, body) == (200, b"ok")
    assert [v for n, v in headers if n == "X-N"] == [str(n) for n in range(MAX_HEADERS)]
    assert len(headers) <= 99 and {"Date", "Server", "Content-Type", "Content-Length"} <= {n for n, _ in headers}


async def test_one_more_header_is_the_function_s_error_not_an_unreadable_answer(serve: Serve, tmp_path: Path) -> None:
    client = await serve(app_adding(tmp_path, MAX_HEADERS + 1), None, pool=False)
    status, _, body = await asyncio.to_thread(fetch, client.port, False)
    assert status == 400
    assert b'"error":"ValueError: response.addHeader: more than 94 headers; allowed: at most 94 header lines' in body
