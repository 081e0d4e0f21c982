"""``atlas-fn replay DIR [--url URL] [--check]``: recorded requests sent again (issue 12 §5).

Owns: the ``replay`` subcommand: reading a folder written by ``atlas-fn serve --record``
(``runtime.http.recorder.load``), proving each request again with its route's own secret from
the app (recordings hold no secrets: ``runtime.contract.proofs.signed``; a request that failed
validation when recorded is signed with a wrong key, so it fails the same way), sending it
byte for byte (method, target, header lines, body; the recorded ``Host`` too) to ``--url`` or
to a server of the app it starts itself on a free loopback port, and with ``--check`` printing
every difference from the recorded answer (``runtime.tools.replay_check``) and exiting 1 on
any. Must not decide what counts as a difference, or print a secret.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import textwrap
import time
from pathlib import Path
from typing import Any, Callable

from runtime import settings as settings_module
from runtime.app.snapshot import Snapshot
from runtime.contract import proofs, validation
from runtime.errors import AtlasFnError, ConfigError, ConfigProblem
from runtime.tools.replay_check import Answer, differences

NOT_SENT = frozenset({"content-length", "transfer-encoding", "connection", "keep-alive"})  # the client frames its own
WRONG_KEY = "atlas-fn-replay: not the secret"

EPILOG = """examples:
  atlas-fn serve --record recordings/          # then use the app; every request is kept
  atlas-fn replay recordings/ --check          # the same requests to a fresh server of the app
  atlas-fn replay recordings/ --url http://127.0.0.1:8080 --check
exit code: 1 when --check finds a difference or a request cannot be sent, else 0."""


def add_parser(commands: Any, app_flags: Callable[[argparse.ArgumentParser], None]) -> None:
    parser = commands.add_parser(
        "replay", help="send recorded requests again; with --check, report every changed answer",
        description=textwrap.fill(
            "Send the requests recorded by 'atlas-fn serve --record DIR' again, each signed anew with its route's "
            "own secret from the app, to URL or to a server of the app started on a free port; with --check, compare "
            "each answer with the recorded one (status, headers, body; ObjectIds and dates generated during a call "
            "may differ) and print every difference.", 90),
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path, metavar="DIR", help="a folder written by 'atlas-fn serve --record DIR'")
    app_flags(parser)
    parser.add_argument("--url", default=None, help="send to this server (default: start one of the app)")
    parser.add_argument("--check", action="store_true", help="compare each answer with the recorded one; exit 1 on a difference")
    parser.set_defaults(run=command)


def command(args: argparse.Namespace) -> int:
    from runtime.cli import _prepare
    from runtime.http.recorder import load

    if not args.folder.is_dir():
        raise ConfigError([ConfigProblem(str(args.folder), "", "is not a folder of recordings ('atlas-fn serve --record DIR')")])
    try:
        exchanges = load(args.folder)
    except ValueError as exc:
        raise ConfigError([ConfigProblem(str(args.folder), "", str(exc))]) from None
    settings = settings_module.load({"port": 0, "host": "127.0.0.1"})
    snapshot = _prepare(args, settings)
    return asyncio.run(_replay(snapshot, settings, exchanges, args.url, args.check))


async def _replay(snapshot: Snapshot, settings: settings_module.Settings, exchanges: list[Any], url: str | None,
                  check: bool) -> int:
    import aiohttp

    runner = None
    if url is None:
        runner, url = await _start(snapshot, settings)
    failed = 0
    try:
        async with aiohttp.ClientSession(auto_decompress=False) as session:
            for exchange in exchanges:
                failed += await _one(session, url.rstrip("/"), snapshot, exchange, check)
    finally:
        if runner is not None:
            await runner.cleanup()
    print(f"replay: {len(exchanges)} request{'s' if len(exchanges) != 1 else ''}, "
          + (f"{failed} with differences" if check else f"{failed} not sent"))
    return 1 if failed else 0


async def _one(session: Any, base: str, snapshot: Snapshot, exchange: Any, check: bool) -> int:
    import aiohttp
    from yarl import URL

    target, headers = _proved(snapshot, exchange)
    sent = [(name, value) for name, value in headers if name.lower() not in NOT_SENT]
    skip = {"User-Agent", "Accept", "Accept-Encoding", "Content-Type"} - {name.title() for name, _ in sent}
    started = time.time()
    try:
        async with session.request(exchange.method, URL(base + target, encoded=True), headers=_multi(sent),
                                   data=exchange.body if exchange.body else None, skip_auto_headers=skip,
                                   allow_redirects=False) as response:
            body = await response.read()
            status, answer_headers = response.status, [(k, v) for k, v in response.headers.items()]
    except (aiohttp.ClientError, OSError, asyncio.TimeoutError) as exc:
        print(f"{exchange.name}: {exchange.method} {target}: not sent: {type(exc).__name__}: {exc}")
        return 1
    line = f"{exchange.name}: {exchange.method} {target.split('?')[0]} -> {status}"
    if not check:
        print(line)
        return 0
    found = differences(Answer(exchange.status, exchange.answer_headers, exchange.answer, exchange.window),
                        Answer(status, answer_headers, body, (started, time.time())))
    print(line + (": same" if not found else f": {len(found)} difference{'s' if len(found) != 1 else ''}"))
    for text in found:
        print(f"  {text}")
    return 1 if found else 0


def _proved(snapshot: Snapshot, exchange: Any) -> tuple[str, list[tuple[str, str]]]:
    """The target and headers with the proof of the route, as when recorded: right if the
    recorded request passed validation, wrong if it did not; untouched where none was redacted."""
    path, mark, query = exchange.target.partition("?")
    headers = list(exchange.headers)
    redacted = (f"{proofs.SECRET_PARAMETER}={proofs.REDACTED}" in query
                or any(value == proofs.REDACTED for _, value in headers))
    try:
        spec = snapshot.routes.resolve(exchange.method, path)
    except AtlasFnError:
        return exchange.target, headers
    if not redacted or proofs.proof_header(spec) is None and spec.validation != validation.SECRET_AS_QUERY_PARAM:
        return exchange.target, headers
    if not exchange.validated:
        spec = _with_secret(spec, WRONG_KEY)
    signed_query, headers = proofs.signed(spec, exchange.body, query, headers)
    return path + ("?" if signed_query else mark) + signed_query, headers


def _with_secret(spec: Any, secret: str) -> Any:
    from dataclasses import replace

    return replace(spec, secret=secret)


def _multi(pairs: list[tuple[str, str]]) -> Any:
    from multidict import CIMultiDict

    return CIMultiDict(pairs)


async def _start(snapshot: Snapshot, settings: settings_module.Settings) -> tuple[Any, str]:
    from aiohttp import web

    from runtime.http.server import build_app
    from runtime.http.serving import AtlasRunner

    runner = AtlasRunner(build_app(snapshot, settings, sinks=[lambda event: None]), settings, access_log=None,
                         handle_signals=False, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    print(f"replay: sending to a server of app {snapshot.app.app_id!r} on http://{host}:{port}", file=sys.stderr)
    return runner, f"http://{host}:{port}"
