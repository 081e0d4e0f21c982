"""``context.http`` (context-services §8.7) through the router, against a local aiohttp server that
ATLAS_FN_HTTP_ALLOW lets it reach: request and response documents, redirects, limits; and the
addresses it refuses without ATLAS_FN_HTTP_ALLOW, by IP literal and by resolved name."""

from __future__ import annotations

import asyncio
import json
from typing import Any, Iterator

import pytest
from aiohttp import web

from runtime.contract.services import CONTEXT_HTTP
from runtime.services.http_client import canonical_header, parse_allow, refused_reason
from runtime.services.router import AppServices, open_services
from runtime.values.bsontypes import Binary
from runtime.worker.engines.base import ServiceFailed
from tests.services.conftest import LoopThread, call


async def _echo(request: web.Request) -> web.Response:
    body = await request.read()
    response = web.json_response({
        "method": request.method, "path": request.path, "query": request.rel_url.raw_query_string,
        "headers": {k: v for k, v in request.headers.items() if k.lower().startswith(("x-", "cookie", "content-type",
                                                                                      "authorization"))},
        "body": body.decode("utf-8", "replace"),
    }, status=int(request.query.get("status", "200")))
    response.headers.add("X-Multi", "one")
    response.headers.add("X-Multi", "two")
    response.set_cookie("session", "abc", path="/", max_age=60, httponly=True)
    return response


async def _redirect(request: web.Request) -> web.Response:
    raise web.HTTPFound(request.query.get("to", "/echo"))


async def _big(request: web.Request) -> web.Response:
    return web.Response(body=b"x" * 5000)


async def _hang(request: web.Request) -> web.Response:
    await request.app[RELEASE].wait()  # answers only at teardown; the client's time limit ends the request
    return web.Response(text="released")


RELEASE = web.AppKey("release", asyncio.Event)


async def _form(request: web.Request) -> web.Response:
    data = await request.post()
    return web.json_response({"type": request.content_type, "fields": {k: str(v) for k, v in data.items()}})


async def _empty(request: web.Request) -> web.Response:
    return web.Response(status=204)


class Site:
    def __init__(self, loop_thread: LoopThread) -> None:
        self.loop_thread = loop_thread
        app = web.Application()
        app.add_routes([web.route("*", "/echo", _echo), web.get("/redirect", _redirect), web.get("/big", _big),
                        web.get("/hang", _hang), web.post("/form", _form), web.route("*", "/empty", _empty)])
        self.runner = web.AppRunner(app)
        self.app = app

        async def start() -> int:
            app[RELEASE] = asyncio.Event()
            await self.runner.setup()
            site = web.TCPSite(self.runner, "127.0.0.1", 0)
            await site.start()
            return site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

        self.port = loop_thread.run(start())
        self.base = f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        async def stop() -> None:
            self.app[RELEASE].set()
            await self.runner.cleanup()
        self.loop_thread.run(stop())


@pytest.fixture(scope="module")
def site(loop_thread: LoopThread) -> Iterator[Site]:
    s = Site(loop_thread)
    yield s
    s.close()


@pytest.fixture(scope="module")
def allowed(loop_thread: LoopThread) -> Iterator[AppServices]:
    app = loop_thread.run(open_services({}, environ={"ATLAS_FN_HTTP_ALLOW": "127.0.0.1, localhost"}))
    yield app
    loop_thread.run(app.close())


@pytest.fixture(scope="module")
def closed(loop_thread: LoopThread) -> Iterator[AppServices]:
    app = loop_thread.run(open_services({}, environ={}))
    yield app
    loop_thread.run(app.close())


def http(loop_thread: LoopThread, app: AppServices, method: str, request: dict[str, Any]) -> Any:
    return call(loop_thread, app, method, request, service=CONTEXT_HTTP)


def http_error(loop_thread: LoopThread, app: AppServices, method: str, request: dict[str, Any]) -> tuple[str, str]:
    with pytest.raises(ServiceFailed) as failed:
        http(loop_thread, app, method, request)
    return failed.value.name, failed.value.message


def test_get_response_document(loop_thread: LoopThread, allowed: AppServices, site: Site) -> None:
    response = http(loop_thread, allowed, "get", {"url": f"{site.base}/echo?a=1",
                                                  "headers": {"X-Two": ["v1", "v2"], "X-One": ["x"]},
                                                  "cookies": {"bob": "barker"}})
    assert response["status"] == "200 OK" and response["statusCode"] == 200
    assert response["headers"]["Content-Type"] == ["application/json; charset=utf-8"]
    assert response["headers"]["X-Multi"] == ["one", "two"]
    assert response["cookies"]["session"] == {"value": "abc", "path": "/", "maxAge": 60, "secure": False, "httpOnly": True}
    body = response["body"]
    assert type(body) is Binary and response["contentLength"] == len(body)
    echoed = json.loads(body.text())
    assert echoed["method"] == "GET" and echoed["query"] == "a=1"
    assert echoed["headers"]["X-Two"] == "v1,v2" and echoed["headers"]["Cookie"] == "bob=barker"


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_bodies_string_binary_and_json(loop_thread: LoopThread, allowed: AppServices, site: Site, method: str) -> None:
    url = f"{site.base}/echo"
    as_text = json.loads(http(loop_thread, allowed, method, {"url": url, "body": "plain"})["body"].text())
    assert (as_text["method"], as_text["body"]) == (method.upper(), "plain")
    as_binary = json.loads(http(loop_thread, allowed, method, {"url": url, "body": Binary(b"\x01raw")})["body"].text())
    assert as_binary["body"] == "\x01raw"
    as_json = json.loads(http(loop_thread, allowed, method, {"url": url, "body": {"n": 1, "d": 1.5},
                                                             "encodeBodyAsJSON": True})["body"].text())
    assert json.loads(as_json["body"]) == {"n": {"$numberInt": "1"}, "d": {"$numberDouble": "1.5"}}  # EJSON.stringify


def test_head_has_no_body_and_a_204_neither(loop_thread: LoopThread, allowed: AppServices, site: Site) -> None:
    head = http(loop_thread, allowed, "head", {"url": f"{site.base}/echo"})
    assert head["statusCode"] == 200 and "body" not in head
    empty = http(loop_thread, allowed, "get", {"url": f"{site.base}/empty"})
    assert (empty["status"], empty["contentLength"], "body" in empty) == ("204 No Content", 0, False)


def test_an_error_status_resolves_normally(loop_thread: LoopThread, allowed: AppServices, site: Site) -> None:
    response = http(loop_thread, allowed, "get", {"url": f"{site.base}/echo?status=503"})
    assert (response["statusCode"], response["status"]) == (503, "503 Service Unavailable")


def test_url_components_and_basic_auth(loop_thread: LoopThread, allowed: AppServices, site: Site) -> None:
    response = http(loop_thread, allowed, "get", {"host": f"127.0.0.1:{site.port}", "path": "/echo",
                                                  "query": {"a": ["1", "2"], "b": ["x y"]},
                                                  "username": "u", "password": "p"})
    echoed = json.loads(response["body"].text())
    assert echoed["query"] == "a=1&a=2&b=x+y" and echoed["headers"]["Authorization"] == "Basic dTpw"


def test_form_is_multipart(loop_thread: LoopThread, allowed: AppServices, site: Site) -> None:
    response = http(loop_thread, allowed, "post", {"url": f"{site.base}/form", "form": {"a": "1", "b": "two"}})
    assert json.loads(response["body"].text()) == {"type": "multipart/form-data", "fields": {"a": "1", "b": "two"}}
    assert http_error(loop_thread, allowed, "post", {"url": f"{site.base}/form", "form": {}, "body": "x"}) == (
        "InvalidParameter", "http.post: 'body' and 'form' cannot be combined")


def test_redirects_followed_only_when_asked_and_checked_at_each_hop(
        loop_thread: LoopThread, allowed: AppServices, site: Site) -> None:
    plain = http(loop_thread, allowed, "get", {"url": f"{site.base}/redirect"})
    assert plain["statusCode"] == 302 and plain["headers"]["Location"] == ["/echo"]
    followed = http(loop_thread, allowed, "get", {"url": f"{site.base}/redirect", "followRedirects": True})
    assert followed["statusCode"] == 200 and json.loads(followed["body"].text())["path"] == "/echo"
    name, message = http_error(loop_thread, allowed, "get", {"url": f"{site.base}/redirect?to=http://169.254.169.254/latest",
                                                             "followRedirects": True})
    assert name == "HTTPError" and "the address 169.254.169.254 of host '169.254.169.254' is a link-local address" in message
    assert http_error(loop_thread, allowed, "get", {"url": f"{site.base}/redirect?to=file:///etc/passwd",
                                                    "followRedirects": True}) == (
        "HTTPError", f"GET {site.base}/redirect?to=file:///etc/passwd: a redirect to file:///etc/passwd: only http and "
                     "https URLs may be requested")


def test_size_and_time_limits(loop_thread: LoopThread, allowed: AppServices, site: Site) -> None:
    client = allowed.http
    client.max_response_bytes, client.timeout = 1000, 0.5
    try:
        assert http_error(loop_thread, allowed, "get", {"url": f"{site.base}/big"}) == (
            "HTTPError", f"GET {site.base}/big: the response body is larger than 1000 bytes")
        assert http_error(loop_thread, allowed, "get", {"url": f"{site.base}/hang"}) == (
            "HTTPError", f"GET {site.base}/hang: no complete response within 0.5 s")
    finally:
        client.max_response_bytes, client.timeout = 2 * 1024 * 1024, 60.0


@pytest.mark.parametrize(("url", "address", "reason"), [
    ("http://127.0.0.1:{port}/echo", "127.0.0.1", "a loopback address"),
    ("http://localhost:{port}/echo", "127.0.0.1", "a loopback address"),  # a name: its resolved address is checked
    ("http://10.0.0.7/", "10.0.0.7", "a private address"),
    ("http://192.168.1.1/", "192.168.1.1", "a private address"),
    ("http://169.254.169.254/latest/meta-data/", "169.254.169.254", "a link-local address (where cloud metadata services listen)"),
    ("http://[::1]:{port}/", "::1", "a loopback address"),
    ("http://[::ffff:127.0.0.1]/", "::ffff:127.0.0.1", "a loopback address"),
    ("http://0.0.0.0:{port}/", "0.0.0.0", "a private address"),
    ("http://100.64.0.1/", "100.64.0.1", "a shared (carrier-grade NAT) address"),
])
def test_private_addresses_are_refused_without_the_allow_list(
        loop_thread: LoopThread, closed: AppServices, site: Site, url: str, address: str, reason: str) -> None:
    name, message = http_error(loop_thread, closed, "get", {"url": url.format(port=site.port)})
    assert name == "HTTPError"
    assert f"the address {address} of host " in message and f"is {reason}; atlas-fn refuses it unless " \
           f"ATLAS_FN_HTTP_ALLOW names the host" in message


def test_an_allowed_name_reaches_loopback(loop_thread: LoopThread, allowed: AppServices, site: Site) -> None:
    assert http(loop_thread, allowed, "get", {"url": f"http://localhost:{site.port}/echo"})["statusCode"] == 200


def test_request_document_refusals(loop_thread: LoopThread, closed: AppServices) -> None:
    assert http_error(loop_thread, closed, "get", {"url": "ftp://x/"}) == (
        "InvalidParameter", "http.get: 'url' must start with http:// or https://")
    assert http_error(loop_thread, closed, "get", {"url": "http://x/", "host": "y"}) == (
        "InvalidParameter", "http.get: 'url' and the URL fields (host) cannot be combined")
    assert http_error(loop_thread, closed, "post", {"url": "http://x/", "body": {"a": 1}}) == (
        "InvalidParameter", "http.post: 'body' must be a string or a BSON.Binary (or any value with "
                            "encodeBodyAsJSON: true), got object")
    assert http_error(loop_thread, closed, "get", {"url": "http://x/", "headers": {"A": "no-array"}}) == (
        "InvalidParameter", "http.get: 'headers.A' must be an array of strings, got string")
    assert http_error(loop_thread, closed, "get", {"url": "http://x/", "headers": {"A": ["v\r\nX: y"]}}) == (
        "InvalidParameter", "http.get: 'headers.A' contains a line break or NUL")
    assert http_error(loop_thread, closed, "get", {"url": "http://x/", "headers": {"X: y": ["v"]}}) == (
        "InvalidParameter", "http.get: the header name 'X: y' is not an HTTP token; allowed: letters, digits and "
                            "!#$%&'*+-.^_`|~")
    assert http_error(loop_thread, closed, "get", {"url": "http://x/", "cookies": {"a=b; c": "v"}}) == (
        "InvalidParameter", "http.get: the cookie name 'a=b; c' is not an HTTP token; allowed: letters, digits and "
                            "!#$%&'*+-.^_`|~")
    assert http_error(loop_thread, closed, "get", {"url": "http://x/", "digestAuth": True}) == (
        "ServiceActionNotSupported", "http.get: atlas-fn does not support 'digestAuth'")
    assert http_error(loop_thread, closed, "trace", {"url": "http://x/"}) == (
        "InvalidParameter", "unknown HTTP method 'trace'; allowed: get, post, put, patch, delete, head")


def test_credentials_in_a_url_never_appear_in_an_error(loop_thread: LoopThread, closed: AppServices) -> None:
    name, message = http_error(loop_thread, closed, "get", {"url": "http://admin:hunter2@10.9.8.7/x?token=t0k3n"})
    assert name == "HTTPError" and "hunter2" not in message and "t0k3n" not in message
    assert message.startswith("GET http://***@10.9.8.7/x?token=***: ")


def test_pure_helpers() -> None:
    assert parse_allow(" api.local, [::1],10.0.0.1 ,") == frozenset({"api.local", "::1", "10.0.0.1"})
    assert refused_reason("8.8.8.8") is None and refused_reason("2606:4700:4700::1111") is None
    assert refused_reason("fd00:ec2::254") == "a private address"
    assert canonical_header("x-custom-HEADER") == "X-Custom-Header"
