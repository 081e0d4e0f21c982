"""The ``context.http`` request document (context-services §8.7.2–§8.7.4), checked.

Owns: ``check_http(method, args, stringify) -> HttpRequest``: the fields of §8.7.3 with their
types and defaults (``encodeBodyAsJSON`` false, ``followRedirects`` false), ``url`` or the URL
components of §8.7.4 (``scheme`` default ``http``), header values as arrays, ``body`` and
``form`` never together, ``digestAuth``/``authUrl`` refused by name. Part of the one service
contract (``runtime.contract.services`` re-exports it). Must not do I/O or decide which addresses may be
reached: that is the HTTP client's decision (``runtime.services.http_client``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable
from urllib.parse import quote, urlencode

from runtime.contract.http_token import ALLOWED_NAME, is_token
from runtime.contract.services import HTTP_METHODS, INVALID_PARAMETER, NOT_SUPPORTED, ServiceFailed, _kind, invalid

HTTP_FIELDS = ("url", "scheme", "host", "path", "query", "fragment", "username", "password", "headers",
               "cookies", "body", "encodeBodyAsJSON", "form", "followRedirects", "digestAuth", "authUrl")


@dataclass(frozen=True)
class HttpRequest:
    """A checked ``context.http`` request document: ``body`` is bytes or None by now."""

    method: str
    url: str
    headers: tuple[tuple[str, str], ...]
    cookies: tuple[tuple[str, str], ...]
    body: bytes | None
    form: tuple[tuple[str, str], ...] | None
    follow_redirects: bool
    username: str | None
    password: str | None


def _string_map(op: str, name: str, value: Any, *, arrays: bool, tokens: bool = False) -> tuple[tuple[str, str], ...]:
    if value is None:
        return ()
    if not isinstance(value, dict):
        raise invalid(op, f"'{name}' must be an object, got {_kind(value)}")
    out = []
    for key, item in value.items():
        if tokens and not is_token(key):
            raise invalid(op, f"the {name[:-1]} name {key[:40]!r} is not an HTTP token; allowed: {ALLOWED_NAME}")
        if arrays and not isinstance(item, list):
            raise invalid(op, f"'{name}.{key[:40]}' must be an array of strings, got {_kind(item)}")
        for one in item if arrays else [item]:
            if not isinstance(one, str):
                want = "an array of strings" if arrays else "a string"
                raise invalid(op, f"'{name}.{key[:40]}' must be {want}, got {_kind(item)}")
            if any(c in one or c in key for c in "\r\n\x00"):
                raise invalid(op, f"'{name}.{key[:40]}' contains a line break or NUL")
            out.append((key, one))
    return tuple(out)


def check_http(method: str, args: Any, stringify: Callable[[Any], str]) -> HttpRequest:
    """A ``context.http.<method>(request)`` argument, checked. ``stringify`` is EJSON.stringify
    (canonical), for ``encodeBodyAsJSON``. Raises ``ServiceFailed`` (InvalidParameter)."""
    op = f"http.{method}" if isinstance(method, str) else "http"
    if method not in HTTP_METHODS:
        raise ServiceFailed(INVALID_PARAMETER, f"unknown HTTP method {str(method)[:20]!r}; allowed: {', '.join(HTTP_METHODS)}")
    if not isinstance(args, dict):
        raise invalid(op, f"the request must be an object, got {_kind(args)}")
    unknown = sorted(set(args) - set(HTTP_FIELDS))
    if unknown:
        raise invalid(op, f"unknown request field {unknown[0][:40]!r}; allowed: {', '.join(HTTP_FIELDS)}")
    for unsupported in ("digestAuth", "authUrl"):
        if args.get(unsupported):
            raise ServiceFailed(NOT_SUPPORTED, f"{op}: atlas-fn does not support '{unsupported}'")
    url = _http_url(op, args)
    body = args.get("body")
    form = args.get("form")
    if body is not None and form is not None:
        raise invalid(op, "'body' and 'form' cannot be combined")
    encode_json = args.get("encodeBodyAsJSON", False)
    if not isinstance(encode_json, bool):
        raise invalid(op, "'encodeBodyAsJSON' must be a boolean")
    data: bytes | None
    if body is None:
        data = None
    elif encode_json:
        data = stringify(body).encode("utf-8")
    elif isinstance(body, str):
        data = body.encode("utf-8", "surrogatepass")
    elif isinstance(body, (bytes, bytearray)):
        data = bytes(body)
    else:
        raise invalid(op, f"'body' must be a string or a BSON.Binary (or any value with encodeBodyAsJSON: true), "
                          f"got {_kind(body)}")
    follow = args.get("followRedirects", False)
    if not isinstance(follow, bool):
        raise invalid(op, "'followRedirects' must be a boolean")
    username, password = args.get("username"), args.get("password")
    for name, value in (("username", username), ("password", password)):
        if value is not None and not isinstance(value, str):
            raise invalid(op, f"'{name}' must be a string")
    return HttpRequest(
        method=method.upper(), url=url,
        headers=_string_map(op, "headers", args.get("headers"), arrays=True, tokens=True),
        cookies=_string_map(op, "cookies", args.get("cookies"), arrays=False, tokens=True),
        body=data, form=None if form is None else _string_map(op, "form", form, arrays=False),
        follow_redirects=follow, username=username, password=password,
    )


def _http_url(op: str, args: dict[str, Any]) -> str:
    """``url``, or the URL-component fields (§8.7.4: scheme default ``http``, host required)."""
    url = args.get("url")
    components = [name for name in ("scheme", "host", "path", "query", "fragment") if args.get(name) is not None]
    if url is not None:
        if components:
            raise invalid(op, f"'url' and the URL fields ({', '.join(components)}) cannot be combined")
        if not isinstance(url, str) or not url:
            raise invalid(op, f"'url' must be a non-empty string, got {_kind(url)}")
        if not url.lower().startswith(("http://", "https://")):
            raise invalid(op, "'url' must start with http:// or https://")
        return url
    host = args.get("host")
    if not isinstance(host, str) or not host:
        raise invalid(op, "give 'url', or 'host' (with optional 'scheme', 'path', 'query', 'fragment')")
    scheme = args.get("scheme") or "http"
    if scheme not in ("http", "https"):
        raise invalid(op, f"'scheme' must be 'http' or 'https', got {str(scheme)[:20]!r}")
    path = args.get("path") or ""
    if not isinstance(path, str):
        raise invalid(op, "'path' must be a string")
    query = _string_map(op, "query", args.get("query"), arrays=True)
    fragment = args.get("fragment")
    if fragment is not None and not isinstance(fragment, str):
        raise invalid(op, "'fragment' must be a string")
    text = f"{scheme}://{host}{quote(path if not path or path.startswith('/') else '/' + path, safe='/%:@!$&()*+,;=-._~')}"
    if query:
        text += "?" + urlencode(list(query))
    if fragment:
        text += "#" + quote(fragment, safe="")
    return text
