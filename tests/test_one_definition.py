"""One definition of each helper the review found copied, and no dead code in runtime/.

The helpers: the HTTP token character set (runtime.contract.http_token), JSON paths, shortened
values and hidden secrets in messages (runtime.values.shown). A copy reappearing elsewhere, or a
top-level name nothing in runtime/ uses, fails here. Parsed with ``ast`` and read as text; nothing
is imported.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from runtime.contract import http_token
from runtime.values.shown import hidden, json_path, quoted, shorten, show_value

RUNTIME = Path(__file__).resolve().parent.parent / "runtime"
SOURCES = {path.relative_to(RUNTIME.parent).as_posix(): path.read_text(encoding="utf-8")
           for path in sorted(RUNTIME.rglob("*.py"))}

# (what, pattern, the one module allowed to hold it)
ONE_PLACE = [
    ("the token character set", re.compile(re.escape("!#$%&'*+-.^_`|~")), "runtime/contract/http_token.py"),
    ("a shortened value", re.compile(r"""\+ ?["'](\.\.\.|…)["']"""), "runtime/values/shown.py"),
    ("the identifier test of a JSON path", re.compile(re.escape("[A-Za-z_][A-Za-z0-9_]*")), "runtime/values/shown.py"),
    ("an index written into a JSON path", re.compile(r"""\$\[\{"""), "runtime/values/shown.py"),
    ("a secret shown by its type", re.compile(r"value not shown"), "runtime/values/shown.py"),
    ("a signature header's name", re.compile(r"""["'](X-Hook-Signature|Endpoint-Signature)["']"""),
     "runtime/contract/validation.py"),
]


@pytest.mark.parametrize(("what", "pattern", "home"), ONE_PLACE, ids=[what for what, _, _ in ONE_PLACE])
def test_each_helper_is_defined_once(what: str, pattern: re.Pattern[str], home: str) -> None:
    holders = sorted(name for name, text in SOURCES.items() if pattern.search(text))
    assert set(holders) <= {home}, f"{what} is written out in {holders}; use {home}"


# Top-level names nothing in runtime/ reads, each with the reason it stays.
KEPT_UNUSED = {
    "write_log": "the protocol's writer of LogEvent, which the server reads (host/pool); no worker sends one "
                 "yet, and tests/test_protocol.py round-trips it",
}


def test_no_top_level_name_of_runtime_is_unused() -> None:
    defined: dict[str, str] = {}
    used: set[str] = set()
    for name, text in SOURCES.items():
        tree = ast.parse(text)
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                defined[node.name] = name
            elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                    if isinstance(target, ast.Name) and not target.id.startswith("__"):
                        defined[target.id] = name
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                used.add(node.id)
            elif isinstance(node, ast.Attribute):
                used.add(node.attr)
            elif isinstance(node, ast.alias):
                used.add(node.name.rsplit(".", 1)[-1])
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.isidentifier():
                used.add(node.value)  # getattr(module, "name"), __all__, registries by name
    unused = sorted(f"{defined[name]}: {name}" for name in defined if name not in used and name not in KEPT_UNUSED)
    assert unused == [], "delete these (or keep them in KEPT_UNUSED with the reason)"
    assert all(name in defined and name not in used for name in KEPT_UNUSED), "KEPT_UNUSED holds a name now used"


def test_json_path() -> None:
    assert json_path("$", 4) == "$[4]"
    assert json_path("$", "options") == "$.options"
    assert json_path("$.can_evaluate", "%%request.body") == '$.can_evaluate["%%request.body"]'
    assert json_path("$", "$eq") == '$["$eq"]'
    assert json_path("$", "clé à") == '$["clé à"]'
    assert json_path("$", True) == "$.True"  # a bool is not an index


def test_shortened_and_hidden_values() -> None:
    assert shorten("x" * 60) == "x" * 60 and shorten("x" * 61) == "x" * 57 + "..."
    assert shorten("abcdef", 5) == "ab..."
    assert show_value("GET") == "'GET'" and show_value(["a"] * 30) == repr(["a"] * 30)[:57] + "..."
    assert hidden("s3cret") == "a JSON string (value not shown)" and hidden(None) == "a JSON null (value not shown)"
    assert quoted("s" * 40) == repr("s" * 40) and quoted("s" * 41) == repr("s" * 40) + "…"


def test_the_token_is_rfc_7230_tchar() -> None:
    assert http_token.is_token("X-Hook-Signature") and http_token.is_token("a!#$%&'*+-.^_`|~9")
    assert not http_token.is_token("") and not http_token.is_token("a b") and not http_token.is_token("é")
    assert not http_token.is_token("a:b") and not http_token.is_token('a"b')


def test_the_guest_context_takes_its_user_from_one_place() -> None:
    """``context.user`` and ``runningAsSystem()`` come from the call's plain user (contract §8.2,
    ``runtime.contract.credentials.context_user``); without one the call runs as system."""
    import inspect

    from runtime.contract.credentials import context_user
    from runtime.worker.engines.python.guest import Context, Values

    assert list(inspect.signature(Context).parameters) == ["request", "values", "app", "environment", "user", "host", "reach"]
    context = Context(request={}, values=Values({}), app={}, environment={})
    assert context.runningAsSystem() is True and context.user == {"type": "system", "data": {}, "identities": []}
    user = context_user({"id": "a" * 24, "type": "normal", "data": {"email": "x@y"}, "identities": [], "api_keys": []})
    context = Context(request={}, values=Values({}), app={}, environment={}, user=user)
    assert context.runningAsSystem() is False and context.user.id == "a" * 24 and "api_keys" not in context.user
