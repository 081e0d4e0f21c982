"""``atlas-fn serve`` from listening to exit: the banner, the signals, and output that may be gone.

Owns: starting the runner on its socket, the start banner (address, workers, the time limit in
force) and route table, and stopping (issue 12 §6). The first SIGINT or SIGTERM stops accepting
and lets the calls in flight finish for up to ``shutdown_grace``, saying how many and how long;
then their workers are killed (before, aiohttp waited the grace twice and Ctrl-C with a call
in flight took 23 s). A second signal stops at once: the workers are killed, the exit code is
128 + the signal (130 for Ctrl-C). Every line goes through ``say``: when standard output is a
closed pipe (``atlas-fn serve | head -1``) the line is dropped and the server goes on, with no
``BrokenPipeError`` traceback. Must not decide anything about requests, the app or settings.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from typing import Any, Callable, Iterable

from runtime.app.snapshot import Snapshot
from runtime.errors import InternalError
from runtime.settings import Settings

AT_ONCE_SECONDS = 2.0  # after a second signal: how long the stop may take before the process leaves anyway


def say(text: str) -> None:
    """Print a line of the server's own; a closed standard output is not an error (the line is lost)."""
    try:
        print(text, flush=True)
    except BrokenPipeError:
        stdout_gone()


def stdout_gone() -> None:
    """Standard output is a closed pipe: point it at /dev/null, so that neither later lines nor the
    interpreter's flush at exit raise (Python's documented answer to SIGPIPE)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


async def run(prepared: Snapshot, settings: Settings, route_table: Callable[[Any], str], sinks: Iterable[Any] = (),
              source: Any = None) -> int:
    from aiohttp import web

    from runtime.http.server import RELOADER, build_app, service_host
    from runtime.http.serving import AtlasRunner

    services = service_host(prepared, settings)
    runner = AtlasRunner(build_app(prepared, settings, sinks=sinks, services=services, source=source), settings,
                         shutdown_timeout=settings.shutdown_grace, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, settings.host, settings.port)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        raise InternalError(f"cannot listen on {settings.host}:{settings.port}: {os.strerror(exc.errno) if exc.errno else exc}") from None
    host, port = runner.addresses[0][:2]
    host = f"[{host}]" if ":" in host else host
    say(f"atlas-fn: app {prepared.app.app_id!r} listening on http://{host}:{port} "
        f"with {settings.pool_size} workers, time limit {settings.timeout:g} s per call")
    say(route_table(prepared.routes))
    if source is not None and source.problems:
        from runtime.cli.serve_problems import serving_with

        print(serving_with(source.problems), file=sys.stderr, flush=True)
    signals: asyncio.Queue[int] = asyncio.Queue()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, signals.put_nowait, sig)
    # the data store starts after listening (a call that needs data meanwhile waits for it), and a
    # signal that comes while it starts stops the server as at any other time
    opening = asyncio.ensure_future(_open_data(services))
    signalled = asyncio.ensure_future(signals.get())
    await asyncio.wait((opening, signalled), return_when=asyncio.FIRST_COMPLETED)
    failed = opening.done() and opening.exception() is not None
    if opening.done() and not failed and opening.result():
        say(f"atlas-fn: {opening.result()}")
    try:
        return await _stop(runner.app[RELOADER], runner, settings, signals, SIGNAL_NONE if failed else await signalled)
    finally:
        signalled.cancel()
        opening.cancel()
        await asyncio.gather(opening, signalled, return_exceptions=True)
        if failed:
            raise opening.exception()  # type: ignore[misc]  # a store that cannot start: InternalError naming why


SIGNAL_NONE = 0  # the server stops by itself (its data store could not start)


async def _open_data(services: Any) -> str | None:
    """Start the app's data service with the server (not at the first call), so the banner can
    say where the data is; the line to print, or None for an app without MongoDB services."""
    from runtime.contract.services import MONGODB_TYPES

    if not any(kind in MONGODB_TYPES for kind in services.names.values()):
        return None
    await services.open()  # a store that cannot start is an InternalError naming why
    return services.describe()


async def _stop(reloader: Any, runner: Any, settings: Settings, signals: "asyncio.Queue[int]", first: int) -> int:
    """After the first signal: calls in flight finish for up to the grace; a second signal stops
    at once. ``reloader`` (``runtime.http.reload``) holds the front and every generation's workers."""
    loop = asyncio.get_running_loop()
    in_flight = reloader.front.in_flight
    again = "press Ctrl-C again" if first in (signal.SIGINT, SIGNAL_NONE) else "send the signal again"
    say(f"atlas-fn: stopping: no new connections; finishing {in_flight} "
        f"call{'' if in_flight == 1 else 's'} in flight for up to {settings.shutdown_grace:g} s; {again} to stop at once")
    cleanup = asyncio.create_task(runner.cleanup())

    def grace_is_over() -> None:
        left = reloader.front.in_flight
        say(f"atlas-fn: the grace of {settings.shutdown_grace:g} s is over: abandoning {left} call{'' if left == 1 else 's'} in flight")
        loop.create_task(reloader.close())  # every generation's workers: their calls fail now

    grace_over = loop.call_later(settings.shutdown_grace, grace_is_over)
    second = asyncio.create_task(signals.get())
    await asyncio.wait({cleanup, second}, return_when=asyncio.FIRST_COMPLETED)
    grace_over.cancel()
    if cleanup.done():
        second.cancel()
        cleanup.result()
        say("atlas-fn: stopped")
        return 0
    say("atlas-fn: stopping at once: the calls in flight are abandoned")
    loop.create_task(reloader.close())
    try:
        await asyncio.wait_for(asyncio.shield(cleanup), AT_ONCE_SECONDS)
    except (TimeoutError, asyncio.TimeoutError):
        pass
    say("atlas-fn: stopped")
    return 128 + second.result()
