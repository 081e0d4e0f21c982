"""The data baseline `data-direct` for bench/run.py: a bare aiohttp handler doing the data
subject's work with pymongo directly.

Per request, whatever the method and path: read the body, one ``find_one({"_id": "seed"})``
and one ``insert_one({"subject": "data", "n": 42})`` on ``bench.c`` of the store at ``--uri``
(the embedded store an ``atlas-fn serve --data memory`` started, from its
``atlas-fn: data: embedded store at mongodb://…/`` line), through one ``AsyncMongoClient``
with the options atlas-fn's MongoDB service uses (runtime/services/mongodb.py), then the same
JSON bytes as the webhook answers. Same event loop, same aiohttp, no access log, one process — what
atlas-fn's `data` webhook does minus atlas-fn (routing, the worker round trip, the guest code,
the service router's EJSON). Must not seed or change the store beyond that one insert per
request: bench/run.py seeds it.

    python bench/ceiling_data.py --uri mongodb://127.0.0.1:PORT/ --port 0
        # prints "ceiling-data: listening on http://HOST:PORT"
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json

from aiohttp import web
from pymongo import AsyncMongoClient

from ceiling import serve_until_signalled  # bench/ is this script's folder, first on its path


def make_handler(client: AsyncMongoClient) -> object:
    collection = client["bench"]["c"]

    async def handle(request: web.Request) -> web.Response:
        await request.read()
        found = await collection.find_one({"_id": "seed"})
        inserted = await collection.insert_one({"subject": "data", "n": 42})
        if found is None:
            return web.Response(status=500, text="the seed document {_id: 'seed'} is missing")
        # the same bytes as the data webhook's canonical EJSON answer (bench/run.py checks it)
        body = json.dumps({"seen": {"$numberInt": str(found["v"])}, "inserted": inserted.inserted_id is not None},
                          separators=(",", ":"))
        return web.Response(body=body.encode(), content_type="application/json")

    return handle


async def serve(host: str, port: int, uri: str) -> None:
    # the options of runtime/services/mongodb.py's client (but its command listeners and timeouts)
    client: AsyncMongoClient = AsyncMongoClient(uri, document_class=dict, tz_aware=True, tzinfo=datetime.timezone.utc,
                                                retryWrites=False, retryReads=False, uuidRepresentation="standard",
                                                appname="atlas-fn-bench-direct")
    try:
        await serve_until_signalled(make_handler(client), host, port, "ceiling-data")
    finally:
        await client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--uri", required=True, help="the store, e.g. mongodb://127.0.0.1:PORT/")
    args = parser.parse_args()
    asyncio.run(serve(args.host, args.port, args.uri))


if __name__ == "__main__":
    main()
