"""What an expression is known to evaluate to, without running it.

The file analyzer turns an argument into one of these; values that depend on another file of the
repository (an imported constant, an argparse default defined elsewhere, a key of a config file) stay
symbolic until the repository-level pass settles them. All are frozen and picklable, so they cross the
process pool unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Const:
    value: str | int | float | bool | None


@dataclass(frozen=True, slots=True)
class Unknown:
    text: str


@dataclass(frozen=True, slots=True)
class LocalPath:
    """A filesystem path built by the code (os.path.join, pathlib): never a hub id."""

    text: str


@dataclass(frozen=True, slots=True)
class Concat:
    parts: tuple[Value, ...]


@dataclass(frozen=True, slots=True)
class Choice:
    """One of several values, each a separate load (``for name in ["a", "b"]: load(name)``)."""

    options: tuple[Value, ...]


@dataclass(frozen=True, slots=True)
class DictVal:
    items: tuple[tuple[str, Value], ...]

    def get(self, key: str) -> Value | None:
        for k, v in self.items:
            if k == key:
                return v
        return None


@dataclass(frozen=True, slots=True)
class SeqVal:
    items: tuple[Value, ...]


@dataclass(frozen=True, slots=True)
class FileHandle:
    """``open(path)``: what config loaders read from."""

    path: Value


@dataclass(frozen=True, slots=True)
class ConfigDoc:
    """The value at ``keys`` of the config file ``path`` (read relative to ``origin``'s directory or the
    repository root), or ``default`` when the key is missing."""

    path: Value
    fmt: str  # yaml / json / toml / ini / any (by extension)
    keys: tuple[str, ...]
    origin: str
    default: Value | None = None


@dataclass(frozen=True, slots=True)
class ImportRef:
    """``name`` (then ``attrs``) of the repository's own module ``module``, imported by ``origin``."""

    module: str
    name: str | None
    level: int
    origin: str
    attrs: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ArgRef:
    """``args.<dest>``: an argparse / dataclass-field default the file itself does not define."""

    dest: str


Value = Const | Unknown | LocalPath | Concat | Choice | DictVal | SeqVal | FileHandle | ConfigDoc | ImportRef | ArgRef


def text_of(value: Value) -> str | None:
    """The string a value stands for, when it is fully known."""
    if isinstance(value, Const) and isinstance(value.value, str):
        return value.value
    return None


def concat(parts: list[Value]) -> Value:
    """``parts`` joined: a constant when every part is one, a local path when any part is."""
    if any(isinstance(p, Choice) for p in parts):
        # Each combination is its own load; bounded, since literal loops are short.
        combos: list[list[Value]] = [[]]
        for part in parts:
            options = part.options if isinstance(part, Choice) else (part,)
            combos = [[*c, o] for c in combos for o in options][:64]
        return Choice(tuple(concat(c) for c in combos))
    texts: list[str] = []
    for part in parts:
        if isinstance(part, Const) and part.value is not None and not isinstance(part.value, bool):
            texts.append(str(part.value))
        elif isinstance(part, LocalPath):
            return part
        else:
            return Concat(tuple(parts))
    return Const("".join(texts))


def is_symbolic(value: Value) -> bool:
    """Whether settling ``value`` needs the repository (other files)."""
    if isinstance(value, ImportRef | ArgRef | ConfigDoc):
        return True
    if isinstance(value, Concat):
        return any(is_symbolic(p) for p in value.parts)
    if isinstance(value, Choice):
        return any(is_symbolic(p) for p in value.options)
    if isinstance(value, FileHandle):
        return is_symbolic(value.path)
    return False
