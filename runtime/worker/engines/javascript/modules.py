"""``require`` for JavaScript functions: our Node built-ins, and npm packages from the artifact.

Owns: the prelude parts built on first use (``js/values_more.js``), the list of built-in modules (each a small module of ours in ``js/node/``), the Node
modules we knowingly lack, Node's resolution rules over the files an artifact carries
(``node_modules/<pkg>/…``: ``package.json`` ``main``, ``index.js``, ``.js``/``.json``
extensions, relative requires inside a package), and, at compile time, collecting the package
files a function file requires. Pure: ``resolve`` reads only the mapping it is given, the
collector reads only the folder it is given, and neither runs JavaScript.
Must not: let a path leave the artifact (``..`` above ``node_modules`` resolves to nothing).
"""

from __future__ import annotations

import json
import posixpath
import re
from pathlib import Path
from typing import Any, Mapping

JS_DIR = Path(__file__).with_name("js")
BUILTINS = ("assert", "buffer", "crypto", "querystring", "timers", "url", "util")
_SOURCES = {name: (JS_DIR / "node" / f"{name}.js").read_text(encoding="utf-8") for name in BUILTINS}
# Node modules App Services had and atlas-fn does not: named in the error, so the cause is clear.
LACKING = frozenset({
    "fs", "fs/promises", "net", "tls", "http", "https", "http2", "dgram", "dns", "child_process", "cluster",
    "worker_threads", "vm", "os", "path", "stream", "events", "zlib", "readline", "tty", "v8", "perf_hooks",
    "process", "module", "async_hooks", "inspector", "string_decoder", "punycode", "domain", "repl",
})
MAX_PACKAGE_BYTES = 15 * 1024 * 1024  # contract §8.5: zipped dependencies, 15 MB
_REQUIRE = re.compile(r"""\brequire\s*\(\s*(['"])([^'"\n]+)\1\s*\)""")
_TEXT = (".js", ".cjs", ".json")


_PRELUDE_PARTS = {"values_more": (JS_DIR / "values_more.js").read_text(encoding="utf-8")}


def prelude_source(name: str) -> str:
    """A part of the prelude built on first use (``values_more``)."""
    if name not in _PRELUDE_PARTS:
        raise ValueError(f"no prelude part named {name[:40]!r}")
    return _PRELUDE_PARTS[name]


def resolve(files: Mapping[str, str], directory: str, name: str, function_file: str) -> dict[str, Any]:
    """Where ``require(name)`` from ``directory`` (inside the artifact; "" for the function file)
    leads: ``{"builtin", "source"}`` or ``{"path", "dir", "source", "json", "lines", "label"}``."""
    bare = name[5:] if name.startswith("node:") else name
    package = _package_of(directory)
    if bare in _SOURCES:
        return {"builtin": bare, "source": _SOURCES[bare]}
    asked = f"package '{package}', required from function file {function_file}" if package else f"function file {function_file}"
    if bare in LACKING:
        raise ValueError(f"require('{name}'): atlas-fn does not provide the Node module '{bare}' (needed by {asked}); "
                            f"available: {', '.join(BUILTINS)}")
    path = None
    if name.startswith(("./", "../", "/")):
        if package:
            path = _file(files, posixpath.normpath(posixpath.join(directory, name)))
    else:
        path = _from_node_modules(files, directory, name)
    if path is None:
        raise ValueError(f"require('{name}'): no such module (required by {asked}); available: the built-ins {', '.join(BUILTINS)} "
                            f"and the packages in functions/node_modules/")
    if path.endswith(".node"):
        raise ValueError(f"require('{name}'): package '{_package_of(path)}' needs a native addon ({path}), which atlas-fn "
                            f"cannot load (in function file {function_file}); only plain-JavaScript packages work")
    source = files[path]
    return {"path": path, "dir": posixpath.dirname(path), "source": source, "json": path.endswith(".json"),
            "lines": source.count("\n") + 1, "label": f"functions/{path}"}


def _package_of(path: str) -> str:
    """The package a path inside ``node_modules`` belongs to (``@scope/name`` too), or ""."""
    parts = path.split("/")
    if "node_modules" not in parts:
        return ""
    i = len(parts) - 1 - parts[::-1].index("node_modules")
    rest = parts[i + 1:]
    if not rest:
        return ""
    return "/".join(rest[:2]) if rest[0].startswith("@") and len(rest) > 1 else rest[0]


def _from_node_modules(files: Mapping[str, str], directory: str, name: str) -> str | None:
    here = directory
    while True:
        if posixpath.basename(here) != "node_modules":
            found = _file(files, posixpath.join(here, "node_modules", name) if here else f"node_modules/{name}")
            if found:
                return found
        if not here:
            return None
        here = posixpath.dirname(here)


def _file(files: Mapping[str, str], path: str) -> str | None:
    if path.startswith("..") or path.startswith("/") or not path.startswith("node_modules/"):
        return None
    for candidate in (path, path + ".js", path + ".json", path + ".cjs", path + ".node"):
        if candidate in files:
            return candidate
    manifest = files.get(path + "/package.json")
    if manifest is not None:
        try:
            main = json.loads(manifest).get("main")
        except (ValueError, AttributeError):
            main = None
        if type(main) is str and main:
            target = posixpath.normpath(posixpath.join(path, main))
            for candidate in (target, target + ".js", target + ".json", target + "/index.js"):
                if candidate in files:
                    return candidate
    for candidate in (path + "/index.js", path + "/index.json", path + "/index.node"):
        if candidate in files:
            return candidate
    return None


def collect(source: str, node_modules: Path | None) -> tuple[dict[str, str], list[str]]:
    """Compile time: the package files ``source`` needs (every text file of each package it
    requires by a literal name, and of their dependencies), keyed ``node_modules/<pkg>/<path>``,
    and the problems found (too large, unreadable)."""
    files: dict[str, str] = {}
    problems: list[str] = []
    if node_modules is None or not node_modules.is_dir():
        return files, problems
    wanted = [m.group(2) for m in _REQUIRE.finditer(source)]
    seen: set[str] = set()
    total = 0
    while wanted:
        name = wanted.pop()
        bare = name[5:] if name.startswith("node:") else name
        if bare.startswith((".", "/")) or bare in _SOURCES or bare in LACKING:
            continue
        parts = bare.split("/")
        package = "/".join(parts[:2]) if parts[0].startswith("@") else parts[0]
        if package in seen:
            continue
        seen.add(package)
        root = node_modules / package
        if not root.is_dir():
            continue
        for path in sorted(root.rglob("*")):
            if not path.is_file():
                continue
            rel = "node_modules/" + path.relative_to(node_modules).as_posix()
            if path.suffix == ".node":
                files[rel] = ""
                continue
            if path.suffix not in _TEXT:
                continue
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                problems.append(f"{rel}: cannot be read as UTF-8 text ({exc.__class__.__name__})")
                continue
            total += len(text)
            if total > MAX_PACKAGE_BYTES:
                problems.append(f"the packages this file requires exceed {MAX_PACKAGE_BYTES // (1024 * 1024)} MB")
                return files, problems
            files[rel] = text
            if path.name == "package.json":
                try:
                    deps = json.loads(text).get("dependencies") or {}
                except (ValueError, AttributeError):
                    deps = {}
                wanted.extend(d for d in deps if type(d) is str)
            elif path.suffix != ".json":
                wanted.extend(m.group(2) for m in _REQUIRE.finditer(text))
    return files, problems
