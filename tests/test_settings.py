"""Settings: a flag over ATLAS_FN_<NAME> over App Services' own figures; bad values reported together."""

import pytest

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
