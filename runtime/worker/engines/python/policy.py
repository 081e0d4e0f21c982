"""The RestrictedPython policy: the builtins and guard hooks every call's globals get.

Owns: the allow-list of builtins and the ``_getattr_``/``_getitem_``/``_getiter_``/``_write_``…
hooks that RestrictedPython's compiled code calls (shared/design/sandbox-notes.md, "Hooks the
host must supply"). Each call gets a fresh copy of the builtins dict, so a call that
rebinds a builtin name cannot reach the next call. Must not import asyncio or aiohttp.

Decisions, each with an escape test in tests/sandbox/:
- no ``__import__``, ``open``, ``eval``, ``exec``, ``compile``, ``type``, ``object``,
  ``vars``, ``dir``, ``globals``, ``locals``, ``id``, ``hash``, ``__build_class__`` (no classes);
- ``getattr``/``hasattr`` go through the same guard as ``a.b``;
- exceptions show only ``args`` (``AttributeError.obj``, ``.name`` and friends can carry host
  objects, CVE-2024-47532);
- C builtins that iterate (``sorted``, ``tuple``, ``zip``…) are wrapped so their iterable
  goes through ``_getiter_`` (RestrictedPython issue #335).
"""

from __future__ import annotations

import importlib
import operator
from typing import Any, Callable

from RestrictedPython.Guards import (
    full_write_guard,
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
    safe_builtins,
    raise_,
    safer_getattr,
)

_DROPPED = ("id", "hash", "__build_class__", "SystemExit", "KeyboardInterrupt", "GeneratorExit")
_EXCEPTION_ATTRIBUTES = frozenset({"args"})
_MISSING = object()


def guarded_getattr(obj: Any, name: Any, default: Any = _MISSING) -> Any:
    """``a.b`` and ``getattr(a, "b"[, default])`` in guest code."""
    if isinstance(obj, BaseException) and name not in _EXCEPTION_ATTRIBUTES:
        if default is not _MISSING:
            return default
        raise AttributeError(f"{type(obj).__name__}.{name} is not readable in the sandbox; allowed: args")
    # RestrictedPython's own default is None (a missing attribute would read as None
    # silently): pass its raise_ marker so a missing attribute raises AttributeError.
    if default is _MISSING:
        return safer_getattr(obj, name, raise_)
    try:
        return safer_getattr(obj, name, raise_)
    except AttributeError:
        return default


def guarded_hasattr(obj: Any, name: Any) -> bool:
    try:
        guarded_getattr(obj, name)
    except AttributeError:
        return False
    return True


def guarded_getitem(obj: Any, key: Any) -> Any:
    return obj[key]


def guarded_getiter(obj: Any) -> Any:
    return iter(obj)


def _inplace(op: str, x: Any, y: Any) -> Any:
    try:
        return _INPLACE[op](x, y)
    except KeyError:
        raise SyntaxError(f"the operator {op} is not allowed") from None


_INPLACE: dict[str, Callable[[Any, Any], Any]] = {
    "+=": operator.iadd, "-=": operator.isub, "*=": operator.imul, "/=": operator.itruediv,
    "//=": operator.ifloordiv, "%=": operator.imod, "**=": operator.ipow, "<<=": operator.ilshift,
    ">>=": operator.irshift, "&=": operator.iand, "|=": operator.ior, "^=": operator.ixor,
    "@=": operator.imatmul,
}


def _apply(func: Any, *args: Any, **kwargs: Any) -> Any:
    return func(*args, **kwargs)


def _iterating(builtin: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a C builtin so every iterable it is given goes through ``_getiter_``."""

    def wrapper(*iterables: Any, **kwargs: Any) -> Any:
        return builtin(*(guarded_getiter(i) for i in iterables), **kwargs)

    wrapper.__name__ = builtin.__name__
    return wrapper


def _one_or_many(builtin: Callable[..., Any]) -> Callable[..., Any]:
    """``min``/``max``: an iterable, or several values."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if len(args) == 1:
            return builtin(guarded_getiter(args[0]), **kwargs)
        return builtin(*args, **kwargs)

    wrapper.__name__ = builtin.__name__
    return wrapper


def _mapping_or_pairs(builtin: Callable[..., Any]) -> Callable[..., Any]:
    """``dict``: from a mapping or from pairs, plus keywords."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if args and not hasattr(args[0], "keys"):
            args = (guarded_getiter(args[0]), *args[1:])
        return builtin(*args, **kwargs)

    wrapper.__name__ = builtin.__name__
    return wrapper


class GuardedType:
    """A builtin class as guest code sees it: calling it runs the guarded wrapper, while
    ``isinstance(x, dict)`` and ``issubclass`` check against the real class. The real class
    itself (and its attributes, such as ``dict.fromkeys``) is not handed out."""

    __slots__ = ("_real", "_call")

    def __init__(self, real: type, call: Callable[..., Any]) -> None:
        self._real = real
        self._call = call

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._call(*args, **kwargs)

    def __instancecheck__(self, instance: Any) -> bool:
        return isinstance(instance, self._real)

    def __subclasscheck__(self, subclass: Any) -> bool:
        return issubclass(subclass, self._real)

    def __repr__(self) -> str:
        return f"<class '{self._real.__name__}'>"


def _reversed(seq: Any) -> Any:
    return reversed(seq if isinstance(seq, (list, tuple, str, range)) else list(guarded_getiter(seq)))


# CPython's C code imports these through the *caller's* builtins: datetime's strftime needs
# `time`, its strptime `_strptime`; `_sre` calls `re._subx` for `Pattern.sub`/`subn` with a
# string template and `re._expand` for `Match.expand`. Guest code itself can never call this:
# the name starts with "_" (refused at compile time and by getattr), import statements are
# refused, and the builtins dict is not reachable. It hands the module to the C caller only,
# which calls one function of it and gives back a string (or a match filter it keeps).
_C_LEVEL_IMPORTS = frozenset({"time", "_strptime", "re"})


def _c_level_import(name: str, globals: Any = None, locals: Any = None, fromlist: Any = (), level: int = 0) -> Any:  # noqa: A002
    if level == 0 and name in _C_LEVEL_IMPORTS:
        return importlib.import_module(name)
    raise ImportError(f"importing {name!r} is not allowed in atlas-fn functions")


def _base_builtins() -> dict[str, Any]:
    allowed = {k: v for k, v in safe_builtins.items() if k not in _DROPPED}
    allowed.update(
        getattr=guarded_getattr,
        hasattr=guarded_hasattr,
        _getattr_=guarded_getattr,
        dict=GuardedType(dict, _mapping_or_pairs(dict)),
        list=GuardedType(list, _iterating(list)), set=GuardedType(set, _iterating(set)),
        frozenset=GuardedType(frozenset, _iterating(frozenset)), tuple=GuardedType(tuple, _iterating(tuple)),
        sorted=_iterating(sorted), zip=GuardedType(zip, _iterating(zip)),
        enumerate=GuardedType(enumerate, _iterating(enumerate)), reversed=GuardedType(reversed, _reversed),
        map=GuardedType(map, lambda func, *its: map(func, *(guarded_getiter(i) for i in its))),
        filter=GuardedType(filter, lambda func, it: filter(func, guarded_getiter(it))),
        sum=_iterating(sum), any=_iterating(any), all=_iterating(all),
        min=_one_or_many(min), max=_one_or_many(max),
        __import__=_c_level_import,
    )
    return allowed


_BUILTINS = _base_builtins()

HOOKS: dict[str, Any] = {
    "_getattr_": guarded_getattr,
    "_getitem_": guarded_getitem,
    "_getiter_": guarded_getiter,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    "_unpack_sequence_": guarded_unpack_sequence,
    "_write_": full_write_guard,
    "_inplacevar_": _inplace,
    "_apply_": _apply,
}


def fresh_globals(print_factory: Callable[..., Any], guest_names: dict[str, Any]) -> dict[str, Any]:
    """One call's module globals: a fresh builtins copy, the hooks, and the guest API."""
    g: dict[str, Any] = {"__builtins__": dict(_BUILTINS), "__name__": "function", "_print_": print_factory}
    g.update(HOOKS)
    g.update(guest_names)
    return g
