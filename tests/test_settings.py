"""Settings: a flag over ATLAS_FN_<NAME> over App Services' own figures; bad values reported together."""

from pathlib import Path

import pytest

from runtime import cli, settings
from runtime.errors import ConfigError
from runtime.settings import Settings, load


def test_defaults_are_app_services_figures() -> None:
    """contract §8.5: 300 s, 350 MB, 18 MB, 10,000 concurrent requests."""
    s = load({}, environ={})
    assert (s.timeout, s.memory_mb, s.max_request_bytes, s.max_concurrency) == (300.0, 350, 18 * 1024 * 1024, 10_000)


def test_a_flag_wins_over_the_environment_which_wins_over_the_default() -> None:
    s = load({"port": 9000, "timeout": None}, environ={"ATLAS_FN_PORT": "7000", "ATLAS_FN_TIMEOUT": "2.5", "ATLAS_FN_QUEUE_DEPTH": "1"})
    assert (s.port, s.timeout, s.queue_depth) == (9000, 2.5, 1)


def test_every_bad_value_is_reported_at_once_with_where_it_came_from() -> None:
    with pytest.raises(ConfigError) as failed:
        load({"workers": -1}, environ={"ATLAS_FN_TIMEOUT": "soon", "ATLAS_FN_MAX_LOG_BYTES": "999999999"})
    assert [str(p) for p in failed.value.problems] == [
        "command line: --workers: -1 is out of range; allowed: 0 to 256",
        "environment: ATLAS_FN_TIMEOUT: 'soon' is not a number",
        "environment: ATLAS_FN_MAX_LOG_BYTES: '999999999' is out of range; allowed: 0 to 2097152",
    ]


def test_pool_size_defaults_to_the_cpu_count() -> None:
    assert Settings(workers=3).pool_size == 3
    assert Settings().pool_size >= 1


# --- one declaration per setting (runtime/settings.py) -----------------------------------------

README = Path(__file__).resolve().parent.parent / "README.md"


def test_every_setting_is_declared_once_with_default_env_flag_help_and_limits() -> None:
    names = [setting.name for setting in settings.DECLARED]
    assert names == [name for name in Settings.__dataclass_fields__]  # every field is a declared setting
    for setting in settings.DECLARED:
        assert setting.env == "ATLAS_FN_" + setting.name.upper()
        switched_off = "no-" if setting.kind is bool and setting.default else ""  # --no-reload, --strict
        assert setting.flag == "--" + switched_off + setting.name.replace("_", "-")
        assert setting.help and setting.default == getattr(Settings(), setting.name)
        if setting.kind not in (str, bool):
            low, high = setting.limits  # type: ignore[misc]
            assert low <= setting.default <= high, setting.name


def test_serve_help_lists_every_setting_with_its_flag_default_limits_and_env(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["serve", "--help"])
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    for setting in settings.DECLARED:
        metavar = "" if setting.kind is bool else f" {setting.kind.__name__.upper()}"  # a switch takes no value
        assert f"{setting.flag}{metavar} {' '.join(setting.help.split())}" in text
        assert f"(default {setting.shown_default()}" in text and f"env {setting.env})" in text
        if setting.limits is not None:
            assert setting.shown_limits() in text


def test_every_serve_flag_reaches_its_setting() -> None:
    argv = ["serve"]
    for setting in settings.DECLARED:
        argv += [setting.flag] if setting.kind is bool else [setting.flag, str(setting.limits[1] if setting.limits else "0.0.0.0")]
    loaded = cli.settings_from(cli._parser().parse_args(argv))
    for setting in settings.DECLARED:
        expected = (not setting.default if setting.kind is bool
                    else setting.kind(setting.limits[1]) if setting.limits else "0.0.0.0")
        assert getattr(loaded, setting.name) == expected, setting.name


def test_a_switch_is_a_flag_without_a_value_or_a_word_in_the_environment() -> None:
    """``--no-reload`` and ``--strict`` (README: hot reload, serving with problems)."""
    assert (load({}, environ={}).reload, load({}, environ={}).strict) == (True, False)
    assert load({"reload": False}, environ={"ATLAS_FN_RELOAD": "on"}).reload is False  # the flag wins
    assert load({}, environ={"ATLAS_FN_RELOAD": "Off", "ATLAS_FN_STRICT": "1"}) == Settings(reload=False, strict=True)
    with pytest.raises(ConfigError) as failed:
        load({}, environ={"ATLAS_FN_STRICT": "maybe"})
    assert [str(p) for p in failed.value.problems] == [
        "environment: ATLAS_FN_STRICT: 'maybe' is not a switch; allowed: 1, true, yes, on, 0, false, no, off"]


def test_the_readme_table_is_the_declared_one() -> None:
    """Regenerate it with ``python -m runtime.settings`` when a setting changes."""
    readme = README.read_text(encoding="utf-8")
    assert settings.readme_table() in readme
    for setting in settings.DECLARED:
        [row] = [line for line in readme.splitlines() if line.startswith(f"| `{setting.flag}`")]
        assert f"| `{setting.env}` | {setting.shown_default()} |" in row


def test_the_worker_side_defaults_are_the_settings_defaults() -> None:
    """A worker's own defaults (a Boot without limits, a Console without a budget) derive from
    the declaration, not a second literal."""
    from runtime.protocol.messages import Limits
    from runtime.worker.console import MAX_CONSOLE_BYTES

    defaults = Settings()
    assert (Limits().max_log_bytes, Limits().max_recursion_depth) == (defaults.max_log_bytes, defaults.max_recursion_depth)
    assert MAX_CONSOLE_BYTES == defaults.max_log_bytes
