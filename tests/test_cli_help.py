"""Every command's help works: ``mlorg --help`` is the first thing most people type."""

from __future__ import annotations

import argparse

import pytest

from mlorg.cli import build_parser, main


def command_paths(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """The root and every subcommand, as the words that reach it (``("serving", "plan")``)."""
    paths = [prefix]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                paths.extend(command_paths(sub, (*prefix, name)))
    return paths


COMMANDS = command_paths(build_parser())


def test_the_tree_holds_every_command_group():
    names = {path[0] for path in COMMANDS if path}
    assert {"validate", "run", "runs", "serving", "monitor", "pipeline", "registry", "calibrate", "sweep",
            "sensitivity", "optimise"} <= names
    assert ("serving", "plan") in COMMANDS and ("registry", "verify") in COMMANDS


@pytest.mark.parametrize("flag", ["--help", "-h"])
@pytest.mark.parametrize("path", COMMANDS, ids=lambda path: " ".join(path) or "mlorg")
def test_help_exits_0_and_describes_the_command(path, flag, capsys):
    with pytest.raises(SystemExit) as exited:
        main([*path, flag])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: mlorg" + "".join(f" {word}" for word in path))
    assert "Traceback" not in out
