"""How the process runs: address, pool size and limits.

Owns: the ``Settings`` value and the one declaration of every setting — each field of
``Settings`` says its default, help text, unit, limits and what happens over it; its flag
(``--max-log-bytes``) and environment variable (``ATLAS_FN_MAX_LOG_BYTES``) follow from its
name. A value comes from the flag, else the environment variable, else App Services' own
figure (contract §8.5). ``runtime.cli`` builds the ``serve`` flags from ``DECLARED``;
the README's table of limits is ``readme_table()`` (``python -m runtime.settings`` prints
it; ``tests/test_settings.py`` checks the README holds it). Frozen. Must not read app files
or import anything of ``runtime`` but ``runtime.errors``.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import MISSING, dataclass, field, fields
from typing import Any, Mapping

from runtime.errors import ConfigError, ConfigProblem

MB = 1024 * 1024
ENV_PREFIX = "ATLAS_FN_"


def _setting(default: Any, help: str, *, unit: str = "", limits: tuple[float, float] | None = None,
             over: str = "", shown: str = "", secret: bool = False, check: Any = None) -> Any:
    """One setting's declaration: a dataclass field whose metadata the rest derives from.
    ``unit`` is "s", "MB", "bytes" or a noun (``"requests"``); ``shown`` overrides how the
    default reads in the README; a ``secret`` one (it may hold credentials) is left out of the
    settings' repr; ``check`` (a text setting's) raises ValueError for a bad value."""
    return field(default=default, repr=not secret, metadata={"help": help, "unit": unit, "limits": limits, "over": over,
                                                             "shown": shown, "check": check})


INSPECTOR_WORDS = ("loopback", "off", "any")


def inspector_served(value: str) -> bool:
    """Is the inspector served under this ``inspector`` setting? Every value but ``off``."""
    return value != "off"


def inspector_networks(value: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """The ``inspector`` setting's address list (``10.0.0.5,192.168.1.0/24``) as networks; ()
    for ``loopback``, ``off`` and ``any``. ValueError names a bad entry and what is allowed."""
    if value in INSPECTOR_WORDS:
        return ()
    networks = []
    for entry in value.split(","):
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            raise ValueError(f"{entry.strip()!r} is not an address or network; allowed: loopback, off, any, or a "
                             "comma-separated list of addresses and networks (10.0.0.5,192.168.1.0/24)") from None
    return tuple(networks)


@dataclass(frozen=True)
class Settings:
    host: str = _setting("127.0.0.1", "address to listen on")
    data: str = _setting("", "where the embedded data store keeps its files: a folder, or 'memory' for a throw-away "
                             "store; ATLAS_FN_MONGODB_URI uses your own cluster instead", shown="<app>/.atlas-fn/data")
    mongodb_uri: str = _setting("", "a MongoDB deployment (Atlas, mongod, any server pymongo speaks to) that every "
                                    "MongoDB service of the app uses instead of the embedded store; never shown, "
                                    "logged or passed to a worker", shown="(the embedded store)", secret=True)
    http_allow: str = _setting("", "hosts (names or addresses, comma-separated) that context.http may reach although "
                                   "they are loopback, private or link-local", shown="(none)")
    port: int = _setting(8080, "port to listen on; 0 picks a free one", limits=(0, 65535))
    workers: int = _setting(0, "worker processes; 0 means the number of CPUs", limits=(0, 256),
                            shown="the number of CPUs")
    timeout: float = _setting(300.0, "wall time per call; App Services allows 300 s", unit="s", limits=(0.001, 86400),
                              over="400 `ExecutionTimeLimitExceeded`, worker replaced")
    memory_mb: int = _setting(350, "address space per worker; App Services allows 350 MB", unit="MB", limits=(64, 1 << 20),
                              over="400 `FunctionExecutionError`, worker replaced")
    max_request_bytes: int = _setting(18 * MB, "request body size; App Services allows 18 MB", unit="bytes",
                                      limits=(1, 1 << 40), over="413 `RequestTooLarge`, before the body is read")
    body_timeout: float = _setting(30.0, "time to receive a request body", unit="s", limits=(0.001, 3600),
                                   over="408 `RequestTimeout`")
    max_response_bytes: int = _setting(18 * MB, "function response body size", unit="bytes", limits=(1, 1 << 40),
                                       over="400 `FunctionExecutionError`")
    max_concurrency: int = _setting(10_000, "requests in flight; App Services allows 10,000", unit="requests",
                                    limits=(1, 1 << 30), over="429 `TooManyRequests`")
    max_headers: int = _setting(128, "header lines per request", unit="headers", limits=(1, 10_000),
                                over="400 from the HTTP parser")
    max_header_line_bytes: int = _setting(8190, "bytes in one header line; App Services' Go front took 1 MB in all",
                                          unit="bytes", limits=(256, 1 << 24), over="400 from the HTTP parser")
    max_log_bytes: int = _setting(MB, "console output kept per call; at most 2 MB, as it travels in the reply",
                                  unit="bytes", limits=(0, 2 * MB), over="further lines dropped, and counted")
    max_recursion_depth: int = _setting(1000, "nested guest calls", unit="calls", limits=(50, 100_000),
                                        over="400 `FunctionExecutionError` (`RecursionError`)")
    idle_timeout: float = _setting(15.0, "time a connection may stay open without a whole request: idle keep-alive "
                                         "connections and unfinished request heads", unit="s", limits=(0.1, 3600),
                                   over="the connection is closed")
    queue_timeout: float = _setting(60.0, "time a call may wait for a free worker", unit="s", limits=(0.001, 3600),
                                    over="503 `ServiceUnavailable`")
    write_timeout: float = _setting(60.0, "time to send an answer to a caller that reads slowly or not at all",
                                    unit="s", limits=(0.001, 3600), over="the connection is closed")
    max_unsent_bytes: int = _setting(256 * MB, "bytes of answers held for callers that have not read them yet, "
                                               "all connections together", unit="bytes", limits=(MB, 1 << 40),
                                     over="429 `TooManyRequests` for a further large answer")
    shutdown_grace: float = _setting(10.0, "time SIGTERM waits for calls in flight", unit="s", limits=(0, 3600),
                                     over="those calls are abandoned")
    queue_depth: int = _setting(4, "calls written to one worker at once, only behind young, fast calls "
                                   "of runtime.host.pool; 1 turns queueing off", unit="calls", limits=(1, 64))
    reload: bool = _setting(True, "hot reload: watch the app and function folders and apply each edit to the "
                                  "next request; turn it off in production", shown="on")
    strict: bool = _setting(False, "refuse to start on any problem of the app (for CI); without it, every route "
                                   "that loads is served", shown="off")
    inspector: str = _setting("loopback", "who may open the inspector page /_atlas-fn/ and its data: 'loopback' "
                                          "(this machine only), 'off', 'any', or a comma-separated list of addresses "
                                          "and networks allowed besides loopback", check=inspector_networks,
                              over="403 `Forbidden` for any other caller")

    @property
    def pool_size(self) -> int:
        return self.workers or os.cpu_count() or 1


@dataclass(frozen=True)
class Declared:
    """One setting as the rest of atlas-fn sees it, derived from its field of ``Settings``."""

    name: str
    kind: type
    default: Any
    help: str
    unit: str
    limits: tuple[float, float] | None
    over: str
    shown: str
    check: Any = None

    @property
    def flag(self) -> str:
        """``--max-log-bytes``; a switch is named for what it changes: ``--strict``, ``--no-reload``."""
        negated = "no-" if self.kind is bool and self.default else ""
        return "--" + negated + self.name.replace("_", "-")

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.name.upper()

    def shown_default(self) -> str:
        """The default as the README and ``--help`` write it: ``18 MB``, ``300 s``, ``10,000 requests``."""
        if self.shown:
            return self.shown
        if self.unit == "bytes" and self.default and self.default % MB == 0:
            return f"{self.default // MB} MB"
        return self._with_unit(self.default)

    def shown_limits(self) -> str:
        """What is allowed: ``64 to 1,048,576 MB``; "" for a setting without limits (a string)."""
        if self.limits is None:
            return ""
        low, high = self.limits
        return f"{self._number(low)} to {self._with_unit(high)}"

    def _number(self, value: Any) -> str:
        if self.kind is float:
            return f"{float(value):g}"
        return f"{int(value):,}" if self.unit else str(int(value)) if self.kind is int else str(value)

    def _with_unit(self, value: Any) -> str:
        return f"{self._number(value)} {self.unit}".strip()


_KINDS = {"str": str, "int": int, "float": float, "bool": bool, str: str, int: int, float: float, bool: bool}
SWITCH_WORDS = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False, "off": False}
DECLARED: tuple[Declared, ...] = tuple(
    Declared(f.name, _KINDS[f.type], f.default, f.metadata["help"], f.metadata["unit"], f.metadata["limits"],
             f.metadata["over"], f.metadata["shown"], f.metadata["check"])
    for f in fields(Settings) if f.default is not MISSING
)


def load(flags: Mapping[str, Any], environ: Mapping[str, str] = os.environ) -> Settings:
    """Settings from flags (None = not given) over the environment over the defaults."""
    values: dict[str, Any] = {}
    problems: list[ConfigProblem] = []
    for setting in DECLARED:
        flag = flags.get(setting.name)
        if flag is not None:
            raw, source, where = flag, "command line", setting.flag
        elif setting.env in environ:
            raw, source, where = environ[setting.env], "environment", setting.env
        else:
            continue
        try:
            values[setting.name] = _convert(setting, raw)
        except ValueError as exc:
            problems.append(ConfigProblem(source, where, str(exc)))
    if problems:
        raise ConfigError(problems)
    return Settings(**values)


def _convert(setting: Declared, raw: Any) -> Any:
    if setting.kind is str:
        if setting.check is not None:
            setting.check(str(raw))
        return str(raw)
    if setting.kind is bool:  # a flag gives a bool; the environment a word
        if isinstance(raw, bool):
            return raw
        if str(raw).strip().lower() not in SWITCH_WORDS:
            raise ValueError(f"{raw!r} is not a switch; allowed: {', '.join(SWITCH_WORDS)}")
        return SWITCH_WORDS[str(raw).strip().lower()]
    number_type = setting.kind
    try:
        value = number_type(raw)
    except (TypeError, ValueError):
        raise ValueError(f"{raw!r} is not {'an integer' if number_type is int else 'a number'}") from None
    assert setting.limits is not None, f"the number setting {setting.name} declares no limits"
    low, high = setting.limits
    if not low <= value <= high:
        raise ValueError(f"{raw!r} is out of range; allowed: {number_type(low)} to {number_type(high)}")
    return value


def readme_table() -> str:
    """The README's table of settings, one row per setting in declaration order."""
    rows = ["| flag: what it limits | environment variable | default | allowed | over it |",
            "| --- | --- | --- | --- | --- |"]
    for s in DECLARED:
        rows.append(f"| `{s.flag}`: {s.help} | `{s.env}` | {s.shown_default()} | {s.shown_limits()} | {s.over} |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(readme_table())
