"""Guest code cannot reach the host through any name it is handed.

Issue 2 §5 and the sandbox README: each test is one attack, and what must happen to it.
These run the real compiler, policy and guest API in-process; isolation (time, memory,
crashes) is tested against real worker processes in tests/test_isolation.py.
"""

import pytest

from tests.sandbox.guestrun import run


def fails_with(source: str, error: type[BaseException], fragment: str) -> None:
    with pytest.raises(error) as caught:
        run(source)
    assert fragment in str(caught.value), str(caught.value)


@pytest.mark.parametrize("name", ["open", "eval", "exec", "compile", "type", "object", "vars", "dir",
                                  "globals", "locals", "id", "hash", "input", "memoryview", "help"])
def test_dangerous_builtins_are_absent(name: str) -> None:
    fails_with(f"def exports(p, r):\n    return {name}\n", NameError, f"name '{name}' is not defined")


def test_getattr_refuses_underscore_names_at_run_time() -> None:
    fails_with("def exports(p, r):\n    return getattr(p, '__class__')\n", AttributeError, "starts with \"_\"")


def test_getattr_refuses_inspection_attributes_at_run_time() -> None:
    fails_with("def exports(p, r):\n    g = (x for x in [1])\n    return getattr(g, 'gi_frame')\n",
               AttributeError, '"gi_frame" is a restricted name')


def test_str_format_cannot_traverse_attributes() -> None:
    fails_with("def exports(p, r):\n    return '{0.__class__}'.format(p)\n", NotImplementedError, "format*() methods of `str` is not safe")


def test_format_map_is_refused_too() -> None:
    fails_with("def exports(p, r):\n    return '{a}'.format_map({'a': 1})\n", NotImplementedError, "not safe")


def test_exceptions_show_only_args() -> None:
    """AttributeError.obj carries the object it failed on (CVE-2024-47532's first step)."""
    source = (
        "def exports(p, r):\n"
        "    try:\n"
        "        utils.nothing\n"
        "    except AttributeError as e:\n"
        "        return e.obj\n"
    )
    fails_with(source, AttributeError, "AttributeError.obj is not readable in the sandbox; allowed: args")


def test_exception_args_are_readable() -> None:
    source = "def exports(p, r):\n    try:\n        int('x')\n    except ValueError as e:\n        return e.args[0]\n"
    assert run(source)[0] == "invalid literal for int() with base 10: 'x'"


@pytest.mark.parametrize("target", ["utils", "utils.crypto", "EJSON", "JSON", "BSON", "console", "context", "r"])
def test_shared_and_host_objects_refuse_attribute_writes(target: str) -> None:
    fails_with(f"def exports(p, r):\n    {target}.hmac = None\n", TypeError, "")


@pytest.mark.parametrize("target", ["utils", "EJSON", "BSON", "context"])
def test_setattr_builtin_is_guarded_too(target: str) -> None:
    fails_with(f"def exports(p, r):\n    setattr({target}, 'parse', None)\n", TypeError, "")


def test_a_call_cannot_rebind_builtins_for_the_next_call() -> None:
    poison = "def exports(p, r):\n    global len\n    len = lambda x: 42\n    return len([])\n"
    assert run(poison)[0] == 42
    assert run("def exports(p, r):\n    return len([])\n")[0] == 0


def test_guest_payload_reads_as_attributes_and_items() -> None:
    payload = {"query": {"a": "1"}, "headers": {"X-A": ["b"]}, "body": None}
    assert run("def exports(p, r):\n    return [p.query.a, p['query']['a'], p.headers['X-A'][0]]\n", payload)[0] == ["1", "1", "b"]


def test_context_values_are_copies() -> None:
    source = "def exports(p, r):\n    v = context.values.get('list')\n    v.append(4)\n    return context.values.get('list')\n"
    assert run(source, values={"list": [1, 2, 3]})[0] == [1, 2, 3]


def test_unknown_context_members_say_so() -> None:
    fails_with("def exports(p, r):\n    return context.nothing\n", AttributeError, "context.nothing does not exist")


def test_print_and_console_go_to_the_call_log() -> None:
    _, _, lines = run("def exports(p, r):\n    print('a', 1)\n    console.log('b', {'c': 2})\n    console.error('d')\n")
    assert lines == ["a 1", 'b {"c":2}', "ERROR d"]


@pytest.mark.parametrize("name", ["os", "sys", "subprocess", "importlib", "posix", "_io", "time.os", "re._parser",
                                  "sre_parse", "_sre", "functools"])
def test_the_c_level_import_refuses_every_module_but_time_strptime_and_re(name: str) -> None:
    """runtime/worker/engines/python/README.md rule 3: the __import__ kept for datetime's C code."""
    import time

    from runtime.worker.engines.python.policy import _c_level_import

    assert _c_level_import("time") is time
    with pytest.raises(ImportError, match=f"importing '{name}' is not allowed in atlas-fn functions"):
        _c_level_import(name)


def test_datetime_formatting_works() -> None:
    source = "def exports(p, r):\n    d = EJSON.parse('{\"$date\": \"2023-05-05T01:02:03.456Z\"}')\n    return d.strftime('%Y/%m/%d')\n"
    assert run(source)[0] == "2023/05/05"


def test_the_c_level_import_hands_out_exactly_time_strptime_and_re() -> None:
    import _strptime
    import re
    import time

    from runtime.worker.engines.python.policy import _C_LEVEL_IMPORTS, _c_level_import

    assert _C_LEVEL_IMPORTS == {"time", "_strptime", "re"}
    assert [_c_level_import(n) for n in ("time", "_strptime", "re")] == [time, _strptime, re]
    with pytest.raises(ImportError, match="importing 're' is not allowed in atlas-fn functions"):
        _c_level_import("re", level=1)


def test_pattern_sub_with_a_string_template_and_match_expand_work() -> None:
    """_sre's C code imports `re` through the guest's builtins for templates (was an ImportError)."""
    source = (
        "def exports(p, r):\n"
        "    pattern = BSON.BSONRegExp('(a+)(?P<b>b)').try_compile()\n"
        "    match = pattern.match('aab')\n"
        "    return [pattern.sub('\\\\2\\\\1', 'xaab'), pattern.subn('[\\\\g<b>]', 'ab ab'),\n"
        "            match.expand('<\\\\g<2>:\\\\1>'), pattern.sub('-', 'xaab')]\n"
    )
    assert run(source)[0] == ["xbaa", ("[b] [b]", 2), "<b:aa>", "x-"]


def test_a_bad_template_is_a_re_error_showing_only_its_message() -> None:
    source = (
        "def exports(p, r):\n"
        "    try:\n"
        "        BSON.BSONRegExp('a').try_compile().sub('\\\\q', 'a')\n"
        "    except Exception as e:\n"
        "        return [e.args, hasattr(e, 'pattern'), hasattr(e, 'pos')]\n"
    )
    assert run(source)[0] == [("bad escape \\q at position 0",), False, False]
