"""Limits with their App Services envelopes (contract §5, §8.5; issue 4 §3).

Request size → 413 RequestTooLarge before the body is read; concurrency → 429
TooManyRequests; response body size → 400 FunctionExecutionError.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from runtime.http.server import RUNNER
from tests.conftest import Serve, write_app
from tests.waiting import until


@pytest.fixture
def functions(tmp_path: Path) -> Path:
    return write_app(tmp_path / "functions", {
        "echo.py": "def exports(payload, response):\n    return len(payload.body or '')\n",
        "big.py": "def exports(payload, response):\n    response.setBody('x' * 2000)\n",
        "slow.py": "def exports(payload, response):\n    n = 0\n    while n < 3000000:\n        n += 1\n    return n\n",
    })


def url(name: str) -> str:
    return f"/api/client/v2.0/app/local/service/http/incoming_webhook/{name}"


async def test_a_declared_oversized_body_is_refused_before_it_is_read(serve: Serve, functions: Path) -> None:
    client = await serve(None, functions, pool=False, max_request_bytes=1000)
    reader, writer = await asyncio.open_connection(client.host, client.port)
    writer.write(f"POST {url('echo')} HTTP/1.1\r\nHost: x\r\nContent-Length: 20000000\r\n\r\n".encode())
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)  # answered with no body sent
    assert head.startswith(b"HTTP/1.1 413 ")
    length = int([line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")][0].split(b":")[1])
    body = json.loads(await reader.readexactly(length))
    assert (body["error_code"], body["error"]) == ("RequestTooLarge", "the request body of 20000000 bytes exceeds the limit of 1000 bytes")
    writer.close()


async def test_a_chunked_oversized_body_is_refused_too(serve: Serve, functions: Path) -> None:
    client = await serve(None, functions, pool=False, max_request_bytes=1000)

    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(10):
            yield b"x" * 500

    resp = await client.post(url("echo"), data=chunks())
    assert resp.status == 413
    assert (await resp.json())["error_code"] == "RequestTooLarge"


async def test_a_body_within_the_limit_is_served(serve: Serve, functions: Path) -> None:
    client = await serve(None, functions, pool=False, max_request_bytes=1000)
    resp = await client.post(url("echo"), data=b"x" * 1000)
    assert await resp.read() == b'{"$numberInt":"1000"}'


async def test_over_the_concurrency_limit_is_429(serve: Serve, functions: Path) -> None:
    client = await serve(None, functions, workers=1, max_concurrency=1)
    pool = client.app[RUNNER]
    first = asyncio.ensure_future(client.get(url("slow")))
    await until(lambda: any(w.calls for w in pool.workers), what="the first call in the worker")  # it holds the one slot
    second = await client.get(url("echo"))
    assert second.status == 429
    body = await second.json()
    assert (body["error_code"], body["error"]) == ("TooManyRequests", "more than 1 requests are in flight")
    assert (await first).status == 200


async def test_a_response_body_over_the_limit_is_a_function_error(serve: Serve, functions: Path) -> None:
    client = await serve(None, functions, pool=False, max_response_bytes=1000)
    resp = await client.get(url("big"))
    assert resp.status == 400
    body = await resp.json()
    assert (body["error_code"], body["error"]) == ("FunctionExecutionError", "the response body of 2000 bytes exceeds the limit of 1000 bytes")


RECURSE = (
    "def down(n):\n"
    "    return 0 if n == 0 else 1 + down(n - 1)\n"
    "def exports(payload, response):\n"
    "    return down(int(payload.query['n']))\n"
)


async def test_recursion_depth_is_a_setting(serve: Serve, tmp_path: Path) -> None:
    functions = write_app(tmp_path / "f", {"recurse.py": RECURSE})
    client = await serve(None, functions, max_recursion_depth=100)
    ok = await client.get(url("recurse") + "?n=90")
    assert (ok.status, await ok.read()) == (200, b'{"$numberInt":"90"}')
    deep = await client.get(url("recurse") + "?n=150")
    body = await deep.json()
    assert (deep.status, body["error_code"]) == (400, "FunctionExecutionError")
    assert body["error"].startswith("RecursionError: maximum recursion depth exceeded")


async def test_header_count_is_a_setting(serve: Serve, functions: Path) -> None:
    client = await serve(None, functions, pool=False, max_headers=20)
    too_many = await client.get(url("echo"), headers={f"X-H{i}": "v" for i in range(30)})
    assert too_many.status == 400
    assert (await client.get(url("echo"))).status == 200  # the server is still up


async def test_header_line_size_is_a_setting(serve: Serve, functions: Path) -> None:
    client = await serve(None, functions, pool=False, max_header_line_bytes=1000)
    assert (await client.get(url("echo"), headers={"X-Big": "v" * 2000})).status in (400, 431)
    assert (await client.get(url("echo"), headers={"X-Small": "v" * 500})).status == 200


async def test_a_body_that_does_not_arrive_in_time_is_408(serve: Serve, functions: Path) -> None:
    """A slow sender cannot hold a concurrency slot for ever (THREAT_MODEL.md, HTTP front)."""
    client = await serve(None, functions, pool=False, body_timeout=0.3)
    reader, writer = await asyncio.open_connection(client.host, client.port)
    writer.write(f"POST {url('echo')} HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly part".encode())
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    assert head.startswith(b"HTTP/1.1 408 ")
    length = int([line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")][0].split(b":")[1])
    body = json.loads(await reader.readexactly(length))
    assert (body["error_code"], body["error"]) == ("RequestTimeout", "the request body did not arrive within 0.3 s")
    writer.close()


async def test_console_output_per_call_is_a_setting(serve: Serve, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    caplog.set_level(logging.INFO, logger="atlas_fn.access")
    functions = write_app(tmp_path / "f", {"chatty.py": "def exports(payload, response):\n    for i in range(100):\n        console.log('line', i)\n"})
    client = await serve(None, functions, pool=False, max_log_bytes=40)
    assert (await client.get(url("chatty"))).status == 200
    [record] = [r for r in caplog.records if r.name == "atlas_fn.access"]
    lines = record.getMessage().split("\n")[1:]
    assert lines[:3] == ["  | line 0", "  | line 1", "  | line 2"]
    assert lines[-1] == "  | … 96 more console lines dropped (limit 40 bytes per call)"
