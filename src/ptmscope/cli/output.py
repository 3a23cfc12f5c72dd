"""What the commands that report on a directory share: where output goes, severities, scanner lists."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path

from ..errors import UsageError


class Severity(StrEnum):
    low = "low"
    medium = "medium"
    high = "high"
    critical = "critical"


def write_output(data: bytes, out: Path | None) -> None:
    """``data`` to standard output, or to ``out``; a file that cannot be written is a usage error."""
    if out is None:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    try:
        out.write_bytes(data)
    except OSError as exc:
        raise UsageError(f"cannot write {out}: {exc.strerror or exc}") from exc


def scanner_names(text: str, known: list[str]) -> list[str]:
    """The comma-separated names of ``--scanners``, each once, in order."""
    names = list(dict.fromkeys(name.strip() for name in text.split(",") if name.strip()))
    if not names:
        raise UsageError(f"--scanners: name at least one of {', '.join(known)}")
    return names
