"""The one exception tree (runtime/errors.py): every exception class runtime defines is in it,
and the tree drawn in its docstring is the tree the classes form."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re

import runtime
from runtime import errors
from runtime.errors import AtlasFnError

# Exception classes allowed outside the tree, each with the reason.
ALLOWED_OUTSIDE = {
    "runtime.values.ejson._Failure": "a private signal inside one serialisation walk; it never leaves ejson "
                                     "(the walk re-raises it as the ValueError or TypeError the guest sees)",
    "runtime.values.ejson._Invalid": "a private ValueError inside EJSON.parse; parse re-raises it as ValueError",
    "runtime.worker.invoke.LimitExceeded": "pending: worker/invoke.py is the lead's to edit; its class is to be "
                                           "replaced by `from runtime.errors import LimitExceeded`",
}


def _runtime_modules() -> list[str]:
    names = ["runtime"]
    for info in pkgutil.walk_packages(runtime.__path__, "runtime."):
        names.append(info.name)
    return sorted(names)


def _exception_classes() -> dict[str, type[BaseException]]:
    """Every exception class defined (not imported) at the top level of a runtime module."""
    found = {}
    for name in _runtime_modules():
        if name in ("runtime.__main__",):
            continue
        module = importlib.import_module(name)
        for value in vars(module).values():
            if inspect.isclass(value) and issubclass(value, BaseException) and value.__module__ == name:
                found[f"{name}.{value.__qualname__}"] = value
    return found


def test_every_exception_class_of_runtime_is_in_the_tree_or_allowed_with_a_reason() -> None:
    classes = _exception_classes()
    assert "runtime.errors.ConfigError" in classes  # the walk sees the tree itself
    strays = sorted(name for name, cls in classes.items()
                    if not issubclass(cls, AtlasFnError) and name not in ALLOWED_OUTSIDE)
    assert strays == [], f"define these in runtime/errors.py (or derive them from a class there): {strays}"
    stale = sorted(name for name in ALLOWED_OUTSIDE if name in classes and issubclass(classes[name], AtlasFnError))
    assert stale == [], f"no longer outside the tree; drop them from ALLOWED_OUTSIDE: {stale}"


def test_tree_classes_are_defined_in_errors_and_only_re_exported_elsewhere() -> None:
    outside = sorted(name for name, cls in _exception_classes().items()
                     if issubclass(cls, AtlasFnError) and cls.__module__ != "runtime.errors")
    assert outside == []


def _drawn_tree() -> dict[str, str]:
    """child -> parent, as drawn in the docstring of runtime.errors."""
    doc = errors.__doc__ or ""
    parents: dict[str, str] = {}
    stack: list[tuple[int, str]] = []
    for line in doc.splitlines():
        match = re.match(r"^(\s*(?:[│ ]   )*)(?:[├└]── )?([A-Z][A-Za-z]+)(\s|$)", line)
        if not match or ("──" not in line and line.strip() != "AtlasFnError"):
            continue
        depth = len(match.group(1)) // 4 + (1 if "──" in line else 0)
        name = match.group(2)
        while stack and stack[-1][0] >= depth:
            stack.pop()
        if stack:
            parents[name] = stack[-1][1]
        stack.append((depth, name))
    return parents


def test_the_docstring_draws_the_whole_tree_truly() -> None:
    actual = {}
    for name, cls in vars(errors).items():
        if inspect.isclass(cls) and issubclass(cls, AtlasFnError) and cls is not AtlasFnError:
            parent = next(base for base in cls.__bases__ if issubclass(base, AtlasFnError))
            actual[name] = parent.__name__
    assert _drawn_tree() == actual


def test_errors_keep_their_messages_and_fields() -> None:
    failed = errors.ServiceFailed("MongoServerError", "E11000 duplicate key")
    assert (str(failed), failed.name, failed.message) == ("MongoServerError: E11000 duplicate key", "MongoServerError",
                                                          "E11000 duplicate key")
    assert str(errors.ServiceFailed("", "plain")) == "plain"
    rule = errors.UnsupportedRule([("$.can_evaluate.x", "bad"), ("", "worse")])
    assert isinstance(rule, ValueError) and str(rule) == "$.can_evaluate.x: bad\nworse"
    compile_failed = errors.CompileFailed([errors.CompileProblem(3, "one"), errors.CompileProblem(None, "two")])
    assert str(compile_failed) == "one; two"
    assert (errors.ProtocolError("x").status, errors.LimitExceeded("y").error_code) == (400, "FunctionExecutionError")
