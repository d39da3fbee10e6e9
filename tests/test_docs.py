"""The commands README.md and ``framemend --help`` show a newcomer are ones the command line
takes: each parses with the CLI's own parser, and its chain (``-f``) or preset with the chain
parser, without running anything. (README's folder example once ended in ``-v`` with no level,
a usage error when typed as written.)"""
import os
import re
import shlex

import pytest

from framemend.chain.parser import check_chain
from framemend.cli import EPILOG, UsageError, _chain_from, build_parser

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def framemend_parts(line: str) -> list[str]:
    """The ``framemend ...`` commands in a shell line, without pipes and redirections."""
    return [part.strip() for part in re.split(r"[|>]", line)
            if part.strip().startswith("framemend ")]


def readme_commands() -> list[str]:
    """Every ``framemend ...`` command in README's ``sh`` blocks, without its comment."""
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        blocks = re.findall(r"```sh\n(.*?)```", f.read(), re.S)
    return [c for line in "\n".join(blocks).splitlines() for c in framemend_parts(line.split(" #")[0])]


def help_commands() -> list[str]:
    """The examples closing ``framemend --help`` (a command, two or more spaces, what it does)."""
    return [c for line in EPILOG.splitlines()[1:] for c in
            framemend_parts(re.split(r"\s{2,}", line.strip())[0])]


def test_readme_and_help_show_commands():
    assert len(readme_commands()) >= 20 and len(help_commands()) >= 8


@pytest.mark.parametrize("command", readme_commands() + help_commands())
def test_each_shown_command_parses(command):
    argv = shlex.split(command)[1:]
    try:
        args = build_parser(argv).parse_args(argv)
    except UsageError as e:
        pytest.fail(f"{command}: {e}")
    if args.command == "clean":
        check_chain(_chain_from(args))
