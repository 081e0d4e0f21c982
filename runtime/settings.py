"""How the process runs: address, pool size and limits.

Owns: the ``Settings`` value and where each field comes from — a command-line flag, else an
``ATLAS_FN_<FIELD>`` environment variable, else App Services' own figure (contract §8.5).
Frozen. Must not read app files.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from typing import Any, Mapping

from runtime.errors import ConfigError, ConfigProblem

MB = 1024 * 1024


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = 0  # 0 = the number of CPUs
    timeout: float = 300.0  # seconds of wall time per call (App Services: 300 s)
    memory_mb: int = 350  # address-space cap per worker (App Services: 350 MB)
    max_request_bytes: int = 18 * MB  # larger requests get 413 (App Services: 18 MB)
    body_timeout: float = 30.0  # seconds to receive a request body; slower ones get 408
    max_response_bytes: int = 18 * MB  # larger function responses are a FunctionExecutionError
    max_concurrency: int = 10_000  # requests in flight before 429 (App Services: 10,000)
    max_headers: int = 128  # header lines per request; more is 400 from the HTTP parser
    max_header_line_bytes: int = 8190  # one header line; App Services' Go front took 1 MB in all
    max_log_bytes: int = MB  # console output kept per call (at most 2 MB: it travels in the reply)
    max_recursion_depth: int = 1000  # nested guest calls before RecursionError (400)
    shutdown_grace: float = 10.0  # seconds SIGTERM waits for calls in flight
    queue_depth: int = 4  # calls written to one worker at once, behind young, fast ones (runtime.host.pool)

    @property
    def pool_size(self) -> int:
        return self.workers or os.cpu_count() or 1


_LIMITS: dict[str, tuple[float, float]] = {
    "port": (0, 65535), "workers": (0, 256), "timeout": (0.001, 86400), "memory_mb": (64, 1 << 20),
    "max_request_bytes": (1, 1 << 40), "max_response_bytes": (1, 1 << 40), "max_concurrency": (1, 1 << 30),
    "shutdown_grace": (0, 3600), "max_headers": (1, 10_000), "max_header_line_bytes": (256, 1 << 24),
    "max_log_bytes": (0, 2 * MB), "max_recursion_depth": (50, 100_000), "queue_depth": (1, 64),
    "body_timeout": (0.001, 3600),
}


def load(flags: Mapping[str, Any], environ: Mapping[str, str] = os.environ) -> Settings:
    """Settings from flags (None = not given) over the environment over the defaults."""
    values: dict[str, Any] = {}
    problems: list[ConfigProblem] = []
    for f in fields(Settings):
        flag = flags.get(f.name)
        env_name = f"ATLAS_FN_{f.name.upper()}"
        if flag is not None:
            raw, source, where = flag, "command line", "--" + f.name.replace("_", "-")
        elif env_name in environ:
            raw, source, where = environ[env_name], "environment", env_name
        else:
            continue
        try:
            values[f.name] = _convert(f.name, f.type, raw)
        except ValueError as exc:
            problems.append(ConfigProblem(source, where, str(exc)))
    if problems:
        raise ConfigError(problems)
    return Settings(**values)


def _convert(name: str, kind: Any, raw: Any) -> Any:
    if kind in ("str", str):
        return str(raw)
    number_type = int if kind in ("int", int) else float
    try:
        value = number_type(raw)
    except (TypeError, ValueError):
        raise ValueError(f"{raw!r} is not {'an integer' if number_type is int else 'a number'}") from None
    low, high = _LIMITS[name]
    if not low <= value <= high:
        raise ValueError(f"{raw!r} is out of range; allowed: {number_type(low)} to {number_type(high)}")
    return value
