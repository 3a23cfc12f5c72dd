"""Running ``ptmscope`` in the test process: its exit status, and the process's logging left as it was."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from ptmscope.cli import main as cli_main


@contextmanager
def logging_restored() -> Iterator[None]:
    # The root callback reconfigures logging for the whole process; put it back for the tests that follow.
    root = logging.getLogger()
    saved = (root.level, list(root.handlers))
    try:
        yield
    finally:
        root.setLevel(saved[0])
        root.handlers[:] = saved[1]


def run_cli(argv: list[str]) -> int:
    """``ptmscope --quiet ARGV`` in this process; its exit status."""
    with logging_restored(), pytest.raises(SystemExit) as exit_:
        cli_main.main(["--quiet", *argv])
    return int(exit_.value.code or 0)
