"""The compiler refuses what the sandbox forbids, every problem at once, with lines.

Issue 2 §5; runtime/worker/engines/python/README.md rule 1.
"""

import pytest

from runtime.worker.engines.python.compiler import CompileFailed, CompileProblem, compile_function


def problems(source: str) -> list[CompileProblem]:
    with pytest.raises(CompileFailed) as failed:
        compile_function(source, "f.py")
    return failed.value.problems


def test_a_clean_file_compiles() -> None:
    code = compile_function("def exports(payload, response):\n    return 1\n", "f.py")
    assert code.co_filename == "f.py"


def test_every_problem_is_reported_at_once_in_line_order() -> None:
    source = (
        "import os\n"
        "def exports(payload, response):\n"
        "    x = payload.__class__\n"
        "    from subprocess import run\n"
        "    return open\n"
        "class A:\n"
        "    pass\n"
    )
    assert problems(source) == [
        CompileProblem(1, "import statements are not allowed (import os); use the globals context, utils, EJSON, JSON, BSON and console."),
        CompileProblem(3, '"__class__" is an invalid attribute name because it starts with "_".'),
        CompileProblem(4, "import statements are not allowed (from subprocess import …); use the globals context, utils, EJSON, JSON, BSON and console."),
        CompileProblem(6, "class statements are not allowed (class A); use functions and dicts."),
    ]


def test_a_syntax_error_names_its_line() -> None:
    assert problems("def exports(payload, response)\n    return 1\n") == [
        CompileProblem(1, "SyntaxError: expected ':' at statement: 'def exports(payload, response)'")
    ]


def test_a_file_without_exports_is_refused() -> None:
    assert problems("def handler(payload, response):\n    return 1\n") == [
        CompileProblem(None, "defines no `exports`; a function file must define `def exports(payload, response): ...`")
    ]


@pytest.mark.parametrize("source", ["exports = lambda p, r: 1\n", "def f(p, r):\n    return 1\nexports = f\n"])
def test_exports_may_be_assigned(source: str) -> None:
    compile_function(source, "f.py")


@pytest.mark.parametrize(
    ("source", "fragment"),
    [
        ("def exports(p, r):\n    return p.__globals__\n", '"__globals__" is an invalid attribute name'),
        ("def exports(p, r):\n    return ().__class__.__subclasses__()\n", '"__class__" is an invalid attribute name'),
        ("def exports(p, r):\n    g = (x for x in [1])\n    return g.gi_frame\n", '"gi_frame" is a restricted name'),
        ("def exports(p, r):\n    return __import__('os')\n", '"__import__" is an invalid variable name'),
        ("def exports(p, r):\n    exec('1')\n", "Exec calls are not allowed."),
        ("def exports(p, r):\n    return eval('1')\n", "Eval calls are not allowed."),
        ("async def exports(p, r):\n    return 1\n", "AsyncFunctionDef statements are not allowed."),
        ("def exports(p, r):\n    breakpoint()\n", '"breakpoint" is a reserved name.'),
        ("def exports(p, r):\n    try:\n        pass\n    except* ValueError:\n        pass\n", "TryStar statements are not allowed."),
        ("def exports(_getattr_=None, /):\n    pass\n", '"_getattr_" is an invalid variable name'),
    ],
)
def test_dangerous_constructs_are_refused_at_compile_time(source: str, fragment: str) -> None:
    assert any(fragment in p.message for p in problems(source)), problems(source)


def test_a_syntax_error_quotes_the_compiled_source_not_a_file_of_that_name(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """CPython may read a SyntaxError's line from disk by the file's shown name, relative to the
    working directory: another file of that name was quoted (found by the reload work)."""
    (tmp_path / "functions").mkdir()
    (tmp_path / "functions" / "hello.py").write_text("# another file, whose first lines are comments\n# second\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(CompileFailed) as failed:
        compile_function("x = 1\ndef exports(payload, response)\n    return 1\n", "functions/hello.py")
    assert failed.value.problems == [
        CompileProblem(2, "SyntaxError: expected ':' at statement: 'def exports(payload, response)'")]
