"""The command line says what it does (issue 12 §6, the first hour): `--version` from the package
metadata, and every subcommand's `--help` with a description and examples."""

from __future__ import annotations

import argparse
import subprocess
import sys
from importlib.metadata import version

import pytest

from runtime.cli import _parser

ATLAS_FN = [sys.executable, "-m", "runtime"]


def subcommands() -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_version_is_the_installed_package_s() -> None:
    done = subprocess.run([*ATLAS_FN, "--version"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0
    assert done.stdout == f"atlas-fn {version('atlas-fn')}\n"


def test_every_subcommand_is_listed() -> None:
    assert {"serve", "check", "sign", "migrate", "diff", "invoke", "replay"} <= set(subcommands())


@pytest.mark.parametrize("name", sorted(subcommands()))
def test_each_subcommand_help_has_a_description_and_an_example(name: str) -> None:
    parser = subcommands()[name]
    assert parser.description and len(parser.description) > 60, f"{name}: its --help says too little"
    assert parser.epilog and f"atlas-fn {name}" in parser.epilog, f"{name}: its --help shows no example"
    done = subprocess.run([*ATLAS_FN, name, "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0
    assert parser.description.split()[0] in done.stdout and "examples:" in done.stdout
