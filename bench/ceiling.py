"""The ceiling: the best a bare aiohttp handler does on this machine, for bench/run.py.

One route, any method and path: read the whole request body, answer a fixed 60-byte JSON
document. Same event loop (plain asyncio), same aiohttp, no access log, one process —
exactly what atlas-fn's front runs on, minus everything atlas-fn adds. Started by
bench/run.py as its own process, like the atlas-fn servers it is compared with:

    python bench/ceiling.py --port 0      # prints "ceiling: listening on http://HOST:PORT"
"""

from __future__ import annotations

import argparse
import asyncio
import signal

from typing import Any

from aiohttp import web

BODY = b'{"ok":true,"subject":"ceiling","padding":"0123456789abcdef"}'
assert len(BODY) == 60, len(BODY)


async def handle(request: web.Request) -> web.Response:
    await request.read()
    return web.Response(body=BODY, content_type="application/json")


async def serve_until_signalled(handler: Any, host: str, port: int, name: str) -> None:
    """A bare aiohttp server with ``handler`` for every request, printing where it listens,
    until SIGTERM or SIGINT (also bench/ceiling_data.py's)."""
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound_host, bound_port = runner.addresses[0][:2]
    print(f"{name}: listening on http://{bound_host}:{bound_port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()


async def serve(host: str, port: int) -> None:
    await serve_until_signalled(handle, host, port, "ceiling")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    asyncio.run(serve(args.host, args.port))


if __name__ == "__main__":
    main()
