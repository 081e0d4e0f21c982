"""Hot reload: edits to the app and function folders reach the next request, with no restart.

Owns: ``Reloader`` — watching the folders (``watchfiles``: inotify, an editor's burst of
events for one save grouped into one batch), building the next snapshot off the event loop
(``runtime.app.snapshot.assemble`` in a thread: compiling is CPU work), starting a new worker
pool booted with it, the swap (one assignment of ``Front.generation``: a request sees the
old snapshot and pool or the new ones, never a mix), retiring the old generation once its
calls in flight have answered (its workers stop then), and saying each problem once in the
log, one line each, with file and line. Its state is what the inspector reads:
``generation``, ``problems`` (on disk now, in report order), ``kept`` (what serves its last
good version instead) and ``last_reload_at``.

Must not: build on the event loop, close a generation a request still holds, restart the
data service (``ServiceHost`` belongs to the server: a reload only renames its services), or
take a build that cannot be served (a broken edit keeps the last good version: ``assemble``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Awaitable, Callable, Mapping

from runtime.app.snapshot import Built, Snapshot, assemble
from runtime.errors import AtlasFnError, ConfigProblem
from runtime.host.pool import WORKER_ARGV
from runtime.host.worker_process import Spawned, spawn
from runtime.http.generation import Generation, close_runner
from runtime.protocol.messages import Boot
from runtime.settings import Settings

log = logging.getLogger("atlas_fn.reload")
logging.getLogger("watchfiles").setLevel(logging.WARNING)  # not "1 change detected" on every save: our lines say what changed

STEP_MS = 20  # a batch is handed over once the folders were quiet this long (an editor's save is a burst) ...
DEBOUNCE_MS = 1600  # ... or after this long, if events keep coming
WATCH_FIRST_PAUSE, WATCH_LAST_PAUSE = 1.0, 30.0  # seconds between tries to watch again after a failure
SKIPPED_NAMES = ("__pycache__",)  # besides hidden entries (.atlas-fn/ holds the embedded store's files)


@dataclass(frozen=True)
class Source:
    """Where the served app comes from, as ``serve`` was given it, and what its first build found."""

    app_dir: Path | None
    functions_dir: Path | None
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)
    problems: tuple[ConfigProblem, ...] = ()


class Reloader:
    """The served app's generations: the state, the watcher, and ``reload()`` (one rebuild)."""

    def __init__(self, front: Any, settings: Settings, source: Source | None,
                 start_runner: Callable[[Boot, Spawned | None], Awaitable[Any]] | None, services: Any = None) -> None:
        self.front = front  # runtime.http.server.Front: its .generation is what requests take
        self.settings = settings
        self.source = source
        self.start_runner = start_runner
        self.services = services  # the server's ServiceHost, renamed on a swap, never restarted
        self.problems: tuple[ConfigProblem, ...] = source.problems if source is not None else ()
        self.kept: tuple[str, ...] = ()
        self.last_reload_at: float | None = None  # time.time() of the last swap
        self.reloads = 0  # builds that were swapped in
        self.retiring: set[asyncio.Task[None]] = set()
        self._retired: set[Generation] = set()
        self._watching: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._stop = asyncio.Event()
        self.watching = asyncio.Event()  # set once the folders are watched: edits from then on are seen
        self.spare: Spawned | None = None  # a worker process waiting for the next generation's boot

    @property
    def generation(self) -> int:
        return self.front.generation.number if self.front.generation is not None else 0

    @property
    def watched(self) -> list[Path]:
        """The folders watched: the app folder and the functions folder (unless inside it)."""
        if self.source is None or self.front.generation is None:
            return []
        app = self.front.generation.snapshot.app
        roots = [Path(self.source.app_dir).absolute()] if self.source.app_dir is not None else []
        if app.functions_dir is not None and not any(app.functions_dir.is_relative_to(r) for r in roots):
            roots.append(app.functions_dir)
        return [root for root in roots if root.is_dir()]

    def start(self) -> None:
        """Watch the folders, if ``reload`` is on and there is something to watch and rebuild."""
        if self.settings.reload and self.source is not None and self.start_runner is not None and self.watched:
            self._watching = asyncio.get_running_loop().create_task(self._watch(self.watched))
            self._keep_spare()

    def _keep_spare(self) -> None:
        """Have a worker process started ahead: a new generation's first worker then skips the
        interpreter's start-up and imports (about half of a worker's start; the boot remains)."""
        if self._stop.is_set() or (self.spare is not None and self.spare.alive):
            return
        if self.spare is not None:  # it died waiting
            self.spare.discard()
        try:
            self.spare = spawn(list(WORKER_ARGV))
        except OSError as exc:  # out of descriptors or processes: a reload then spawns as usual
            log.warning("atlas-fn: reload: cannot start a spare worker: %s", exc)
            self.spare = None

    async def _watch(self, roots: list[Path]) -> None:
        import watchfiles

        def relevant(change: Any, path: str) -> bool:
            return self.relevant(Path(path), roots)

        pause = WATCH_FIRST_PAUSE
        while not self._stop.is_set():
            # awatch registers its watches before its first await: this runs once that is done
            asyncio.get_running_loop().call_soon(self.watching.set)
            try:
                async for _changes in watchfiles.awatch(*roots, watch_filter=relevant, stop_event=self._stop,
                                                        step=STEP_MS, debounce=DEBOUNCE_MS):
                    pause = WATCH_FIRST_PAUSE
                    await self.reload()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - a folder gone, a watch limit: say so once, try again
                if pause == WATCH_FIRST_PAUSE:
                    log.error("atlas-fn: reload: cannot watch %s (trying again, up to every %g s): %s",
                              ", ".join(map(str, roots)), WATCH_LAST_PAUSE, exc)
                await asyncio.sleep(pause)
                pause = min(pause * 2, WATCH_LAST_PAUSE)

    def relevant(self, path: Path, roots: list[Path]) -> bool:
        """Whether an event on ``path`` may change the app: not a hidden entry (``.atlas-fn/``,
        an editor's swap file), not ``__pycache__``, not in the data folder."""
        data = self.settings.data
        if data and data != "memory" and path.is_relative_to(Path(data).absolute()):
            return False
        for root in roots:
            if path.is_relative_to(root):
                parts = path.relative_to(root).parts
                return not any(part.startswith(".") or part in SKIPPED_NAMES for part in parts)
        return True

    async def reload(self) -> bool:
        """Build the folders again and, if anything served changed, swap in a new generation.
        True when a new generation serves. Never raises for a bad app: it logs the problems."""
        if self.source is None or self.start_runner is None or self.front.generation is None:
            return False
        async with self._lock:
            current: Generation = self.front.generation
            source = self.source
            started = time.perf_counter()
            try:
                built: Built = await asyncio.get_running_loop().run_in_executor(
                    None, assemble, source.app_dir, source.functions_dir, self.settings, source.environ,
                    current.snapshot)
            except Exception:  # noqa: BLE001 - a bug of ours: keep serving, say so
                log.exception("atlas-fn: reload: building the app failed; still serving generation %d", current.number)
                return False
            self._report(built)
            if built.snapshot is None or _same(built.snapshot, current.snapshot):
                return False
            built_in = time.perf_counter() - started
            self._keep_spare()  # replaces one that died waiting
            spare, self.spare = self.spare, None
            try:
                try:
                    runner = await self.start_runner(built.snapshot.boot, spare)
                except AtlasFnError:
                    if spare is None:
                        raise
                    runner = await self.start_runner(built.snapshot.boot, None)  # the spare failed: a fresh one
            except AtlasFnError as error:
                log.error("atlas-fn: reload: cannot start workers for the new version (still serving generation %d): %s",
                          current.number, error.message)
                self._keep_spare()
                return False
            took = f"built in {built_in * 1000:.0f} ms, workers up in {(time.perf_counter() - started - built_in) * 1000:.0f} ms"
            self._swap(current, Generation(current.number + 1, built.snapshot, runner), took)
            self._keep_spare()
            return True

    def _swap(self, old: Generation, new: Generation, took: str) -> None:
        self.front.generation = new  # the swap: new requests take the new generation from here on
        if self.services is not None:
            self.services.rename(new.snapshot.boot.services, new.snapshot.policies)
        self.last_reload_at = time.time()
        self.reloads += 1
        routes = len(new.snapshot.routes.rows())
        kept = f"; serving the last good version of {', '.join(self.kept)}" if self.kept else ""
        problems = f"; {len(self.problems)} problem{'s' if len(self.problems) != 1 else ''}" if self.problems else ""
        log.info("atlas-fn: reloaded: generation %d, %d route%s%s%s (%s)", new.number, routes, "s" if routes != 1 else "",
                 problems, kept, took)
        task = asyncio.get_running_loop().create_task(old.retire())
        self._retired.add(old)
        self.retiring.add(task)
        task.add_done_callback(lambda done: (self.retiring.discard(done), self._retired.discard(old)))

    def _report(self, built: Built) -> None:
        """Each problem once: those not found by the build before, one line each; then what
        was fixed."""
        before = set(self.problems)
        now = set(built.problems)
        for problem in built.problems:
            if problem not in before:
                log.warning("atlas-fn: reload: %s", problem)
        fixed = len(before - now)
        if fixed:
            log.info("atlas-fn: reload: %d problem%s fixed", fixed, "s" if fixed != 1 else "")
        if built.kept and built.kept != self.kept:
            log.warning("atlas-fn: reload: serving the last good version of %s until the problems above are fixed",
                        ", ".join(built.kept))
        self.problems = built.problems
        self.kept = built.kept

    async def close(self) -> None:
        """Stop watching; close every generation's runner now (the server is stopping)."""
        self._stop.set()
        if self._watching is not None:
            self._watching.cancel()
            try:
                await self._watching
            except (asyncio.CancelledError, Exception):  # noqa: BLE001 - stopping anyway
                pass
        if self.spare is not None:
            self.spare.discard()
            self.spare = None
        async with self._lock:  # a reload in progress finishes first (its pool then closes below)
            for task in list(self.retiring):
                task.cancel()
            for old in list(self._retired):
                await close_runner(old.runner)
            if self.front.generation is not None:
                await close_runner(self.front.generation.runner)


def _same(new: Snapshot, old: Snapshot) -> bool:
    """Nothing served differs: the app, every function's artifact, and every route's problem."""
    return (new.app == old.app and new.boot == old.boot and new.config_problems == old.config_problems
            and sorted(s.problem for s in new.routes.specs()) == sorted(s.problem for s in old.routes.specs()))
