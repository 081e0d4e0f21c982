"""A worker-like child process for the JavaScript attacks that concern memory and time.

Run as ``python -I tests/javascript/child.py <file.js> <cpu_seconds> <memory_mb>``: it compiles
the file, sets the worker's rlimits (RLIMIT_AS, RLIMIT_CPU as the backstop), boots the real
``runtime.worker.invoke.Invoker`` with the file as a ``javascript`` FunctionArtifact, makes
one endpoint call and prints the ``Reply`` (status, body, error, recycle, logs) as one JSON
line. The parent kills it at a wall-time limit, as the pool's watchdog does.
"""

from __future__ import annotations

import json
import resource
import sys
from pathlib import Path


def main() -> None:
    path, cpu_seconds, memory_mb = Path(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from runtime.protocol.messages import Boot, Call, FunctionArtifact, Limits
    from runtime.worker.engines.javascript import ENGINE, compile as compile_js
    from runtime.worker.invoke import Invoker

    key = "functions/hostile.js"
    artifact = FunctionArtifact(key, "javascript", key, compile_js(path.read_text(encoding="utf-8"), key))
    limits = Limits(memory_mb=memory_mb, cpu_seconds=cpu_seconds)
    ENGINE.configure(limits)
    invoker = Invoker(Boot((artifact,), {"id": "local"}, {"greeting": "Hello"}, {"tag": "", "values": {}}, limits))
    size = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (size, size))
    resource.setrlimit(resource.RLIMIT_CPU, (int(cpu_seconds * 3) + 1, resource.RLIM_INFINITY))
    call = Call(1, key, "endpoint", "http", "POST", "http://127.0.0.1/hostile", "a=1", ((b"X-A", b"b"),), "127.0.0.1",
                True, "/hostile", "JSON", b'{"k":1}')

    class NoHost:
        def service(self, service: str, operation: str, args: str) -> str:
            from runtime.worker.engines.base import ServiceFailed
            raise ServiceFailed("FunctionError", "no services in this test")

    reply = invoker.call(call, NoHost())
    print(json.dumps({"status": reply.status, "body": reply.body.decode("utf-8", "replace"), "error": reply.error,
                      "recycle": reply.recycle, "logs": list(reply.logs)}), flush=True)


if __name__ == "__main__":
    main()
