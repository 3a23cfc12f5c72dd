"""Settling values that depend on other files of the repository: constants imported from the
repository's own modules, argparse / dataclass-field defaults defined in another file, and keys of the
repository's simple config files (YAML, JSON, TOML, INI).

Files are read only inside the repository root (never through a symlink leaving it), only up to a size
cap, and with safe parsers: YAML through ``safe_load``, nothing imported or executed.
"""

from __future__ import annotations

import ast
import configparser
import json
import os
import stat
import tomllib
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from .resolve import ModuleAnalyzer, attribute, subscript
from .signatures import Catalogue
from .values import (
    ArgRef,
    Choice,
    Concat,
    ConfigDoc,
    Const,
    DictVal,
    FileHandle,
    ImportRef,
    LocalPath,
    SeqVal,
    Unknown,
    Value,
    concat,
    text_of,
)

MAX_CONFIG_BYTES = 1 << 20
MAX_MODULE_BYTES = 1 << 20
MAX_DEPTH = 16
# Files read for argparse defaults defined in another file; beyond this a repository is not searched.
MAX_ARG_FILES = 500
_FORMATS = {".yaml": "yaml", ".yml": "yaml", ".json": "json", ".toml": "toml", ".ini": "ini", ".cfg": "ini",
            ".conf": "ini"}
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_inside(root: Path, rel: str, limit: int) -> bytes | None:
    """The bytes of ``root/rel`` when it is a regular file inside ``root`` (after resolving symlinks) no
    larger than ``limit``; None otherwise."""
    try:
        real_root = os.path.realpath(root)
        real = os.path.realpath(os.path.join(root, rel))
        if os.path.commonpath([real_root, real]) != real_root:
            return None
        fd = os.open(real, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except (OSError, ValueError):
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > limit:
            return None
        with os.fdopen(fd, "rb", closefd=False) as fh:
            return fh.read(limit + 1)
    except OSError:
        return None
    finally:
        os.close(fd)


def parse_config(data: bytes, fmt: str) -> Any:
    """A config document as plain data; None when it does not parse."""
    text = data.decode("utf-8", errors="replace")
    try:
        if fmt == "yaml":
            return yaml.load(text, Loader=_Loader)  # the safe loader, C or Python
        if fmt == "json":
            return json.loads(text)
        if fmt == "toml":
            return tomllib.loads(text)
        if fmt == "ini":
            parser = configparser.ConfigParser(interpolation=None)
            parser.read_string(text)
            return {section: dict(parser[section]) for section in parser.sections()} | (
                {"DEFAULT": dict(parser.defaults())} if parser.defaults() else {})
    except (yaml.YAMLError, ValueError, configparser.Error, RecursionError):
        return None
    return None


class RepoResolver:
    """Settles symbolic values for one repository (``root``, with its Python files ``py_files``)."""

    def __init__(self, root: Path, py_files: set[str], catalogue: Catalogue) -> None:
        self.root = root
        self.py_files = py_files
        self.cat = catalogue
        self._modules: dict[str, ModuleAnalyzer | None] = {}
        self._configs: dict[str, Any] = {}
        self._args: dict[str, Value] | None = None

    # --- settling -----------------------------------------------------------------------------------------

    def settle(self, value: Value, depth: int = 0) -> Value:
        if depth > MAX_DEPTH:
            return Unknown("too deep")
        d = depth + 1
        if isinstance(value, Concat):
            return concat([self.settle(p, d) for p in value.parts])
        if isinstance(value, Choice):
            options: list[Value] = []
            for option in value.options:
                settled = self.settle(option, d)
                options.extend(settled.options if isinstance(settled, Choice) else (settled,))
            return Choice(tuple(dict.fromkeys(options)))
        if isinstance(value, ImportRef):
            return self._import(value, d)
        if isinstance(value, ArgRef):
            found = self.arg_defaults().get(value.dest)
            return self.settle(found, d) if found is not None else Unknown(f"args.{value.dest}")
        if isinstance(value, ConfigDoc):
            return self._config(value, d)
        if isinstance(value, FileHandle):
            return FileHandle(self.settle(value.path, d))
        return value

    def _import(self, ref: ImportRef, d: int) -> Value:
        rel = self.module_file(ref.module, ref.level, ref.origin)
        name, attrs = ref.name, ref.attrs
        # ``from pkg import config`` then ``config.MODEL``: the name is a submodule.
        if ((rel is None or rel.endswith("__init__.py")) and name is not None and attrs
                and attrs[0].startswith(".")):
            sub = self.module_file(f"{ref.module}.{name}" if ref.module else name, ref.level, ref.origin)
            if sub is not None:
                rel, name, attrs = sub, attrs[0][1:], attrs[1:]
        if rel is None or name is None:
            return Unknown(f"{ref.module}.{ref.name}")
        module = self.analyzer(rel)
        if module is None:
            return Unknown(f"{ref.module}.{name}")
        value = self.settle(module.module_value(name), d)
        for step in attrs:
            value = self.settle(subscript(value, Const(step[1:])) if step.startswith("[")
                                else attribute(value, step[1:]), d)
        return value

    def _config(self, doc: ConfigDoc, d: int) -> Value:
        path = text_of(self.settle(doc.path, d))
        if path is None:
            return Unknown("config file")
        data = self.config(path, doc.origin, doc.fmt)
        for key in doc.keys:
            if isinstance(data, dict) and key in data:
                data = data[key]
            elif isinstance(data, list) and key.lstrip("-").isdigit() and -len(data) <= int(key) < len(data):
                data = data[int(key)]
            else:
                return self.settle(doc.default, d) if doc.default is not None else Unknown(
                    f"{path}: {'.'.join(doc.keys)}")
        if isinstance(data, str | int | float | bool) or data is None:
            return Const(data)
        if isinstance(data, dict):
            return DictVal(tuple((str(k), Const(v) if isinstance(v, str) else Unknown(str(k)))
                                 for k, v in data.items()))
        if isinstance(data, list):
            return SeqVal(tuple(Const(v) if isinstance(v, str) else Unknown("item") for v in data))
        return Unknown(path)

    # --- files --------------------------------------------------------------------------------------------

    def config(self, path: str, origin: str, fmt: str) -> Any:
        """The parsed config file ``path`` as the code at ``origin`` would open it: relative to its own
        directory, else to the repository root (the usual working directory)."""
        if os.path.isabs(path):
            return None
        if fmt in ("any", "same"):
            fmt = _FORMATS.get(PurePosixPath(path).suffix.lower(), "yaml")
        for base in (PurePosixPath(origin).parent, PurePosixPath(".")):
            rel = os.path.normpath(str(base / path))
            if rel.startswith(".."):
                continue
            key = f"{fmt}:{rel}"
            if key not in self._configs:
                data = read_inside(self.root, rel, MAX_CONFIG_BYTES)
                self._configs[key] = parse_config(data, fmt) if data is not None else None
            if self._configs[key] is not None:
                return self._configs[key]
        return None

    def module_file(self, module: str, level: int, origin: str) -> str | None:
        """The repository file of module ``module`` as ``origin`` imports it (``level`` dots)."""
        parts = [p for p in module.split(".") if p]
        origin_dir = PurePosixPath(origin).parent
        if level > 0:
            base = origin_dir
            for _ in range(level - 1):
                base = base.parent
            candidates = [base.joinpath(*parts)]
        else:
            if not parts:
                return None
            candidates = [origin_dir.joinpath(*parts), PurePosixPath(*parts), PurePosixPath("src", *parts)]
        for candidate in candidates:
            for name in (f"{candidate}.py", f"{candidate}/__init__.py"):
                rel = os.path.normpath(name)
                if rel in self.py_files:
                    return rel
        if level == 0:
            suffix = "/".join(parts) + ".py"
            matches = [f for f in self.py_files if f == suffix or f.endswith("/" + suffix)]
            if len(matches) == 1:
                return matches[0]
        return None

    def analyzer(self, rel: str) -> ModuleAnalyzer | None:
        if rel not in self._modules:
            self._modules[rel] = None
            data = read_inside(self.root, rel, MAX_MODULE_BYTES)
            if data is not None:
                try:
                    tree = ast.parse(data.decode("utf-8", errors="replace"), filename=rel)
                    self._modules[rel] = ModuleAnalyzer(tree, rel, self.cat)
                except (SyntaxError, ValueError, RecursionError, MemoryError):
                    pass
        return self._modules[rel]

    def arg_defaults(self) -> dict[str, Value]:
        """argparse / dataclass-field defaults across the repository, by destination: a destination
        defined with different defaults in different files is ambiguous and left out."""
        if self._args is not None:
            return self._args
        found: dict[str, set[Value]] = {}
        read = 0
        for rel in sorted(self.py_files):
            if read >= MAX_ARG_FILES:
                break
            data = read_inside(self.root, rel, MAX_MODULE_BYTES)
            if data is None or (b"add_argument" not in data and b"dataclass" not in data
                                and b"set_defaults" not in data):
                continue
            read += 1
            module = self.analyzer(rel)
            if module is None:
                continue
            for dest, value in module.argparse_values().items():
                if not isinstance(value, Unknown | ArgRef):
                    found.setdefault(dest, set()).add(value)
        self._args = {dest: next(iter(values)) for dest, values in found.items() if len(values) == 1}
        return self._args


__all__ = ["LocalPath", "RepoResolver", "parse_config", "read_inside"]
