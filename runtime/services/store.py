"""The embedded data store: SecantusDB as a child process the server owns.

Owns: starting SecantusDB (``python -m secantus``) on a loopback port with ``--sync-on-commit``,
its data directory (``<app>/.atlas-fn/data/``, a given one, or a throw-away temporary one for
``memory``), waiting until it accepts connections, restarting it when it dies, and stopping it
with the server so the process never outlives it (``stop``; ``PR_SET_PDEATHSIG`` covers a server
that dies without stopping it). Must not run queries (``runtime.services.mongodb`` does) or
listen anywhere but loopback.

Listeners learn of a death through ``on_death`` callbacks (called at once, in the loop), ``died``
(set while no process is up) and ``generation`` (``wait_generation``): the MongoDB service fails
every operation in flight at once instead of waiting on a socket that will never answer.

The store's configuration auto-discovery (``./secantusd.toml``, ``/etc/secantus/…``) is turned
off by passing an empty ``--config`` file of our own: the operator's files elsewhere on the
machine never change how the embedded store runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import re
import shutil
import signal
import sys
import tempfile
from collections import deque
from pathlib import Path
from typing import Callable

from runtime.errors import InternalError
from runtime.services.redact import redact

log = logging.getLogger("atlas_fn.store")

LOOPBACK = "127.0.0.1"
_LISTENING = re.compile(r"secantus listening on (?P<host>[^\s:]+|\[[^\]]+\]):(?P<port>\d+)")
_PR_SET_PDEATHSIG = 1


StoreError = InternalError  # the store could not be started (the message holds its last lines of output)


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """SIGTERM to the store when the thread that started it goes away (Linux)."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    os.setpgrp()  # a Ctrl-C in the terminal goes to the server, which stops the store itself


def default_data_dir(app_dir: Path) -> Path:
    return app_dir / ".atlas-fn" / "data"


class Store:
    """One SecantusDB process. ``await start()``, then ``uri``; ``await stop()`` at shutdown.

    ``data_dir=None`` means ``memory``: a temporary directory, removed at ``stop``."""

    def __init__(self, data_dir: Path | None, *, start_timeout: float = 30.0, restart: bool = True,
                 python: str = sys.executable) -> None:
        self.data_dir = data_dir
        self.start_timeout = start_timeout
        self.restart = restart
        self.python = python
        self.generation = 0  # +1 each time a process comes up
        self.died = asyncio.Event()  # set while no process is up after one died; cleared on restart
        self.restarts = 0
        self._port = 0
        self._proc: asyncio.subprocess.Process | None = None
        self._scratch: Path | None = None
        self._watch: asyncio.Task[None] | None = None
        self._drain: asyncio.Task[None] | None = None
        self._tail: deque[str] = deque(maxlen=20)
        self._stopping = False
        self._up = asyncio.Event()
        self._changed = asyncio.Condition()
        self._on_death: list[Callable[[], None]] = []

    @property
    def uri(self) -> str:
        return f"mongodb://{LOOPBACK}:{self._port}/"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None and self._proc.returncode is None else None

    async def start(self) -> None:
        if self._proc is not None:
            raise StoreError("the store is already started")
        self._scratch = Path(tempfile.mkdtemp(prefix="atlas-fn-store-"))
        (self._scratch / "secantusd.toml").write_text("# atlas-fn: no configuration of its own\n")
        if self.data_dir is not None:
            self.data_dir.mkdir(parents=True, exist_ok=True)
        try:
            await self._launch(self._port)
        except BaseException:
            await self.stop()
            raise
        self._watch = asyncio.create_task(self._watch_loop(), name="atlas-fn store watch")

    def on_death(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` (in the loop, at once) each time the store process dies unasked."""
        self._on_death.append(callback)

    async def wait_up(self) -> None:
        """Until a store process accepts connections (returns at once when one does)."""
        await self._up.wait()

    async def wait_generation(self, generation: int) -> None:
        """Until the ``generation``-th process is up (the first is 1; each restart adds one)."""
        async with self._changed:
            await self._changed.wait_for(lambda: self.generation >= generation)

    async def _launch(self, port: int) -> None:
        assert self._scratch is not None
        storage = self.data_dir if self.data_dir is not None else self._scratch / "data"
        self._tail.clear()
        args = [self.python, "-m", "secantus", "--config", str(self._scratch / "secantusd.toml"),
                "--host", LOOPBACK, "--port", str(port), "--storage-path", str(storage),
                "--sync-on-commit", "--log-level", "INFO"]
        self._proc = await asyncio.create_subprocess_exec(
            *args, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE, preexec_fn=_die_with_parent, cwd=str(self._scratch),
            env={k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "TMPDIR", "HOME")})
        listening = asyncio.get_running_loop().create_future()
        self._drain = asyncio.create_task(self._drain_output(self._proc, listening), name="atlas-fn store output")
        try:
            self._port = await asyncio.wait_for(asyncio.shield(listening), self.start_timeout)
        except asyncio.TimeoutError:
            raise StoreError(f"the data store did not start within {self.start_timeout:g} s; "
                             f"its last output: {' | '.join(self._tail) or '(none)'}") from None
        await self._accepts_connections()
        self.generation += 1
        self.died.clear()
        self._up.set()
        async with self._changed:
            self._changed.notify_all()
        log.info("data store up (pid %d, %s, %s)", self._proc.pid, self.uri,
                 self.data_dir if self.data_dir is not None else "memory")

    async def _drain_output(self, proc: asyncio.subprocess.Process, listening: asyncio.Future[int]) -> None:
        """Read the store's stderr for ever (a full pipe would stall it), keep the last lines for
        error messages, and report the port once it says it listens."""
        assert proc.stderr is not None
        while True:
            raw = await proc.stderr.readline()
            if not raw:
                break
            line = redact(raw.decode("utf-8", "replace").rstrip())[:500]
            self._tail.append(line)
            log.debug("store: %s", line)
            match = _LISTENING.search(line)
            if match and not listening.done():
                listening.set_result(int(match["port"]))
        if not listening.done():
            code = await proc.wait()
            listening.set_exception(StoreError(
                f"the data store exited with status {code} before it listened; "
                f"its last output: {' | '.join(self._tail) or '(none)'}"))

    async def _accepts_connections(self) -> None:
        deadline = asyncio.get_running_loop().time() + self.start_timeout
        while True:
            try:
                _, writer = await asyncio.open_connection(LOOPBACK, self._port)
                writer.close()
                with contextlib.suppress(OSError):
                    await writer.wait_closed()
                return
            except OSError:
                if asyncio.get_running_loop().time() > deadline:
                    raise StoreError(f"the data store does not accept connections on port {self._port}") from None
                await asyncio.sleep(0.02)

    async def _watch_loop(self) -> None:
        """Restart the store whenever it dies (first on the same port, so clients reconnect)."""
        delay = 0.1
        while not self._stopping:
            proc = self._proc
            assert proc is not None
            code = await proc.wait()
            if self._stopping:
                return
            self._up.clear()
            self.died.set()
            for callback in list(self._on_death):
                try:
                    callback()
                except Exception:  # noqa: BLE001 - a listener's bug must not stop the restart
                    log.exception("a data store death listener failed")
            log.warning("the data store (pid %d) exited with status %s; restarting it", proc.pid, code)
            if not self.restart:
                return
            while not self._stopping:
                try:
                    await self._launch(self._port)
                    self.restarts += 1
                    delay = 0.1
                    break
                except StoreError as exc:
                    log.error("restarting the data store failed: %s", exc)
                    await self._kill(self._proc)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 5.0)
                    if delay >= 1.0:
                        self._port = 0  # the old port may be taken: any free one

    async def _kill(self, proc: asyncio.subprocess.Process | None, grace: float = 10.0) -> None:
        if proc is None or proc.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            proc.terminate()
        poke = asyncio.create_task(self._wake_accept(proc))
        try:
            await asyncio.wait_for(proc.wait(), grace)
        except asyncio.TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
        finally:
            poke.cancel()

    async def _wake_accept(self, proc: asyncio.subprocess.Process) -> None:
        """SecantusDB's accept thread blocks in accept() while it stops and is joined with a 2 s
        timeout; a connection wakes it, so the store stops in a fraction of that."""
        for _ in range(20):
            await asyncio.sleep(0.05)
            if proc.returncode is not None:
                return
            with contextlib.suppress(OSError):
                _, writer = await asyncio.open_connection(LOOPBACK, self._port)
                writer.close()

    async def stop(self) -> None:
        """Stop the store (SIGTERM, then SIGKILL after 10 s) and remove the temporary files."""
        self._stopping = True
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
        await self._kill(self._proc)
        if self._drain is not None:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(self._drain, 2.0)
        self._up.clear()
        self.died.set()
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None
