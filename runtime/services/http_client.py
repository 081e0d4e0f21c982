"""``context.http``: outbound HTTP requests run by the server with aiohttp's client.

Owns: sending a checked request (``runtime.contract.http_request.check_http``), following redirects
itself (each hop checked again), the response document of §8.7.5 (``status`` "200 OK",
``statusCode``, ``contentLength``, ``headers`` and ``cookies`` maps, ``body`` as a BSON.Binary
when there is one), the time and size limits, and which addresses may be reached.

Must not reach loopback, private, link-local (cloud metadata: 169.254.169.254), shared,
multicast, reserved or unspecified addresses unless ``ATLAS_FN_HTTP_ALLOW`` names the host. The
check is on the address the connection really uses: names are resolved by ``GuardedResolver``,
which drops every refused address before aiohttp connects (so a name that resolves to a public
address when checked and a private one when used is still refused), and IP literals, which
aiohttp never resolves, are checked before the request. No proxy from the environment, no
cookies kept between requests, no credentials in any message (``redact``).
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import socket
from http.cookies import CookieError, SimpleCookie
from typing import Any, Iterable
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver

from runtime.contract import services as contract
from runtime.contract.http_request import HttpRequest
from runtime.contract.services import ServiceFailed
from runtime.services.redact import redact
from runtime.values.bsontypes import Binary

ALLOW_ENV = "ATLAS_FN_HTTP_ALLOW"
_SHARED = ipaddress.ip_network("100.64.0.0/10")


def parse_allow(text: str) -> frozenset[str]:
    """``ATLAS_FN_HTTP_ALLOW``: comma-separated host names or IP addresses (``[::1]`` too)."""
    return frozenset(h.strip().strip("[]").lower().rstrip(".") for h in text.split(",") if h.strip())


def refused_reason(address: str) -> str | None:
    """Why an address may not be reached without ``ATLAS_FN_HTTP_ALLOW``, or None."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return "not an IP address"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for test, reason in ((ip.is_loopback, "a loopback address"), (ip.is_link_local, "a link-local address "
                         "(where cloud metadata services listen)"), (ip.is_private, "a private address"),
                         (ip.is_multicast, "a multicast address"), (ip.is_unspecified, "an unspecified address"),
                         (ip.is_reserved, "a reserved address"),
                         (isinstance(ip, ipaddress.IPv4Address) and ip in _SHARED, "a shared (carrier-grade NAT) address"),
                         (not ip.is_global, "not a public address")):
        if test:
            return reason
    return None


def _refusal(host: str, address: str, reason: str) -> str:
    return (f"the address {address} of host {host!r} is {reason}; atlas-fn refuses it unless {ALLOW_ENV} "
            f"names the host")


def refused(message: str) -> ServiceFailed:
    """An address atlas-fn will not connect to. Not an OSError, so aiohttp lets it through its
    resolver error handling unchanged; ``HttpClient.request`` adds the method and URL."""
    return ServiceFailed(contract.HTTP_ERROR, message)


class GuardedResolver(AbstractResolver):
    """Resolves names and returns only the addresses that may be reached."""

    def __init__(self, allow: frozenset[str]) -> None:
        self._allow = allow
        self._inner = ThreadedResolver()

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        if host.lower().rstrip(".") in self._allow:
            return results
        allowed = [r for r in results if refused_reason(r["host"]) is None]
        if not allowed:
            first = results[0]["host"] if results else "?"
            raise refused(_refusal(host, first, refused_reason(first) or "refused"))
        return allowed

    async def close(self) -> None:
        await self._inner.close()


def canonical_header(name: str) -> str:
    """Go's canonical header key (``content-type`` → ``Content-Type``), as App Services shows them."""
    return "-".join(part[:1].upper() + part[1:].lower() for part in name.split("-"))


class HttpClient:
    """One aiohttp session for the server's lifetime (made on first use, in the running loop)."""

    def __init__(self, *, allow: frozenset[str] = frozenset(), timeout: float = contract.HTTP_TIMEOUT_SECONDS,
                 max_response_bytes: int = contract.HTTP_MAX_RESPONSE_BYTES,
                 max_redirects: int = contract.HTTP_MAX_REDIRECTS) -> None:
        self.allow = allow
        self.timeout = timeout
        self.max_response_bytes = max_response_bytes
        self.max_redirects = max_redirects
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(resolver=GuardedResolver(self.allow), use_dns_cache=False, limit=100)
            self._session = aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar(),
                                                  trust_env=False, auto_decompress=True)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def request(self, req: HttpRequest) -> dict[str, Any]:
        """Send ``req``; the §8.7.5 response document, or ``ServiceFailed`` (HTTPError)."""
        shown = redact(req.url)
        try:
            async with asyncio.timeout(self.timeout):
                return await self._send(req)
        except ServiceFailed as exc:
            if exc.name != contract.HTTP_ERROR:
                raise
            raise ServiceFailed(contract.HTTP_ERROR, f"{req.method} {shown}: {exc.message}") from None
        except TimeoutError:
            raise ServiceFailed(contract.HTTP_ERROR, f"{req.method} {shown}: no complete response within "
                                                    f"{self.timeout:g} s") from None
        except aiohttp.ClientConnectorError as exc:
            cause = exc.os_error
            reason = redact(str(cause.strerror or cause) if cause else str(exc))
            raise ServiceFailed(contract.HTTP_ERROR, f"{req.method} {shown}: {reason}") from None
        except (aiohttp.ClientError, OSError, ValueError) as exc:
            raise ServiceFailed(contract.HTTP_ERROR, f"{req.method} {shown}: {redact(str(exc) or type(exc).__name__)}") from None

    async def _check(self, url: str) -> None:
        """Refuse an IP-literal host before connecting (aiohttp does not resolve those)."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise ServiceFailed(contract.HTTP_ERROR, f"a redirect to {redact(url)[:200]}: only http and https URLs "
                                                     "may be requested")
        host = (parts.hostname or "").lower().rstrip(".")
        if not host:
            raise ServiceFailed(contract.INVALID_PARAMETER, f"{redact(url)[:200]}: the URL has no host")
        if host in self.allow:
            return
        try:
            ipaddress.ip_address(host.split("%", 1)[0])
        except ValueError:
            return  # a name: GuardedResolver checks what it resolves to
        reason = refused_reason(host)
        if reason is not None:
            raise refused(_refusal(host, host, reason))

    async def _send(self, req: HttpRequest) -> dict[str, Any]:
        session = self._open()
        method, url, body = req.method, req.url, req.body
        headers: dict[str, str] = {}
        for name, value in req.headers:  # repeated values travel as one comma-joined header (SDK evidence)
            headers[name] = f"{headers[name]},{value}" if name in headers else value
        if req.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in req.cookies)
        parts = urlsplit(url)
        username, password = req.username, req.password
        if parts.username is not None or parts.password is not None:  # user:password@ in the URL
            username = username if username is not None else unquote(parts.username or "")
            password = password if password is not None else unquote(parts.password or "")
            url = urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))
        if username is not None and not any(k.lower() == "authorization" for k in headers):
            token = base64.b64encode(f"{username}:{password or ''}".encode("utf-8")).decode("ascii")
            headers["Authorization"] = f"Basic {token}"
        origin = urlsplit(url).netloc.lower()
        for _hop in range(self.max_redirects + 1):
            await self._check(url)
            data: Any = body
            if req.form is not None:
                data = aiohttp.FormData(list(req.form), default_to_multipart=True)
            async with session.request(method, url, headers=headers, data=data, allow_redirects=False,
                                       max_line_size=16384, max_field_size=16384) as resp:
                location = resp.headers.get("Location")
                if req.follow_redirects and resp.status in (301, 302, 303, 307, 308) and location:
                    url = urljoin(url, location)
                    if urlsplit(url).netloc.lower() != origin:  # as Go does: credentials stay with their host
                        headers = {k: v for k, v in headers.items() if k.lower() not in ("authorization", "cookie")}
                    if resp.status in (301, 302, 303) and method not in ("GET", "HEAD"):
                        method, body, req = "GET", None, _without_form(req)
                    continue
                return await self._response(resp, method)
        raise ServiceFailed(contract.HTTP_ERROR, f"stopped after {self.max_redirects} redirects")

    async def _response(self, resp: aiohttp.ClientResponse, method: str) -> dict[str, Any]:
        chunks, size = [], 0
        async for chunk in resp.content.iter_chunked(65536):
            size += len(chunk)
            if size > self.max_response_bytes:
                raise ServiceFailed(contract.HTTP_ERROR, f"the response body is larger than {self.max_response_bytes} bytes")
            chunks.append(chunk)
        data = b"".join(chunks)
        headers: dict[str, list[str]] = {}
        for raw_name, raw_value in resp.raw_headers:
            name = canonical_header(raw_name.decode("latin-1"))
            headers.setdefault(name, []).append(raw_value.decode("utf-8", "replace"))
        declared = resp.headers.get("Content-Length", "")
        result: dict[str, Any] = {
            "status": f"{resp.status} {resp.reason or ''}".rstrip(),
            "statusCode": resp.status,
            "contentLength": int(declared) if declared.isdigit() else len(data),
            "headers": headers,
            "cookies": _cookies(headers.get("Set-Cookie", ())),
        }
        if data:
            result["body"] = Binary(data)
        return result


def _without_form(req: HttpRequest) -> HttpRequest:
    from dataclasses import replace
    return replace(req, form=None, body=None)


def _cookies(lines: Iterable[str]) -> dict[str, Any]:
    """Set-Cookie lines → ``{name: {value, path, domain, expires, maxAge, secure, httpOnly}}`` (SDK-HTTP)."""
    out: dict[str, Any] = {}
    for line in lines:
        jar: SimpleCookie = SimpleCookie()
        try:
            jar.load(line)
        except CookieError:
            continue
        for name, morsel in jar.items():
            cookie: dict[str, Any] = {"value": morsel.value}
            for key, field in (("path", "path"), ("domain", "domain"), ("expires", "expires")):
                if morsel[field]:
                    cookie[key] = morsel[field]
            if morsel["max-age"]:
                try:
                    cookie["maxAge"] = int(morsel["max-age"])
                except ValueError:
                    pass
            cookie["secure"] = bool(morsel["secure"])
            cookie["httpOnly"] = bool(morsel["httponly"])
            out[name] = cookie
    return out


__all__ = ["HttpClient", "GuardedResolver", "parse_allow", "refused_reason", "canonical_header"]
