"""What the command-line scanners share: reading a target safely, and running a tool over many
files so that one bad file costs only itself.
"""

from __future__ import annotations

import hashlib
import stat
import subprocess
from collections.abc import Callable, Container, Iterable, Sequence
from typing import TypeVar

from .interface import ScanTarget, Skipped

T = TypeVar("T")
R = TypeVar("R")

# Long command lines fail with E2BIG; stay far below Linux's 2 MiB ARG_MAX.
MAX_BATCH_CHARS = 200_000
MAX_BATCH_FILES = 1000
_BINARY_PROBE = 8192


class ToolError(Exception):
    """The tool crashed, timed out or wrote output we cannot read, for a whole batch of files."""


def read_target(target: ScanTarget, max_bytes: int) -> bytes | Skipped:
    """The bytes of a regular file, or why it is not scanned. Symbolic links are never followed:
    a link in a repository can point anywhere on the machine."""
    try:
        info = target.path.lstat()
    except OSError as exc:
        return Skipped(target.display, f"cannot read: {exc.strerror or exc}")
    if stat.S_ISLNK(info.st_mode):
        return Skipped(target.display, "symbolic link (not followed)")
    if not stat.S_ISREG(info.st_mode):
        return Skipped(target.display, "not a regular file")
    if info.st_size > max_bytes:
        return Skipped(target.display, f"larger than {max_bytes} bytes ({info.st_size})")
    try:
        data = target.path.read_bytes()
    except OSError as exc:
        return Skipped(target.display, f"cannot read: {exc.strerror or exc}")
    if b"\0" in data[:_BINARY_PROBE]:
        return Skipped(target.display, "binary content (NUL bytes)")
    return data


def batches(paths: Sequence[str]) -> Iterable[list[str]]:
    batch: list[str] = []
    size = 0
    for path in paths:
        if batch and (size + len(path) > MAX_BATCH_CHARS or len(batch) >= MAX_BATCH_FILES):
            yield batch
            batch, size = [], 0
        batch.append(path)
        size += len(path) + 1
    if batch:
        yield batch


def run_isolating(items: Sequence[T], run: Callable[[Sequence[T]], R]) -> tuple[list[R], list[tuple[T, str]]]:
    """``run`` on all items at once; when it fails, on each half, down to the single item to blame.

    Returns the results of the runs that worked and, for each item no run could handle, the
    reason. A good batch costs one run; one bad file among n costs about 2·log2(n) more.
    """
    if not items:
        return [], []
    try:
        return [run(items)], []
    except ToolError as exc:
        if len(items) == 1:
            return [], [(items[0], str(exc))]
    middle = len(items) // 2
    left, left_failed = run_isolating(items[:middle], run)
    right, right_failed = run_isolating(items[middle:], run)
    return left + right, left_failed + right_failed


def run_tool(argv: Sequence[str], *, timeout: float, cwd: str, env: dict[str, str] | None = None,
             ok_codes: Container[int] = (0,)) -> str:
    """Run a scanner; its stdout, or ToolError when it hangs or dies."""
    try:
        # The argv is ours: the interpreter, the tool module, fixed options and file paths.
        done = subprocess.run(list(argv), capture_output=True, text=True, errors="replace",
                              timeout=timeout, cwd=cwd, env=env, check=False)
    except subprocess.TimeoutExpired as exc:
        raise ToolError(f"timed out after {timeout:.0f} s") from exc
    if done.returncode < 0:
        raise ToolError(f"killed by signal {-done.returncode}")
    if done.returncode not in ok_codes:
        last = done.stderr.strip().splitlines()[-1:] or [""]
        raise ToolError(f"exit status {done.returncode}: {last[0][:300]}".rstrip(": "))
    return done.stdout


def ruleset_digest(*parts: object) -> str:
    return hashlib.sha256("\n".join(map(str, parts)).encode()).hexdigest()
