"""The signature catalogue (``signatures.toml``): which calls load a pre-trained model, and where its id is.

A call is matched on its fully qualified name after import resolution, against exact names first and then
against the patterns of the name's first component (so a call into a library nobody lists costs one dict
lookup).
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections import Counter, defaultdict
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

MODEL_FROM = ("argument", "name", "module", "torch_hub")
_LEADING = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True, slots=True)
class ArgSpec:
    """An argument by position and/or keyword names (position None: keyword only)."""

    position: int | None
    keywords: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Signature:
    library: str
    hub: str
    calls: tuple[str, ...]
    patterns: tuple[re.Pattern[str], ...]
    references: bool
    model: ArgSpec
    model_from: str
    revision: tuple[str, ...]
    trust_remote_code: tuple[str, ...]
    use_safetensors: tuple[str, ...]
    requires: ArgSpec | tuple[ArgSpec, ...] | None
    string_only: bool
    id_template: str | None
    strip_prefixes: tuple[str, ...]
    exclude: tuple[tuple[str, frozenset[str]], ...]
    local_if: tuple[tuple[str, frozenset[str]], ...]
    files_are_hub: bool
    missing_model: str | None
    roots: tuple[str, ...]
    root_pattern: re.Pattern[str] | None
    reference: tuple[str, ...]
    requires_text: str | None = None
    # "checksum": the library checks each named model against a hash it ships (openai-whisper), so the
    # weights cannot change under the caller whatever revision is (not) given.
    pinned_by: str | None = None

    def requirements(self) -> tuple[ArgSpec, ...]:
        if self.requires is None:
            return ()
        return self.requires if isinstance(self.requires, tuple) else (self.requires,)

    def count(self) -> int:
        """Signatures this entry stands for: each exact name, and each pattern."""
        return len(self.calls) + len(self.patterns)


def _strs(value: Any, field: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{field}: expected a list of strings")
    return tuple(value)


def _pairs(value: Any, field: str) -> tuple[tuple[str, frozenset[str]], ...]:
    if value is None:
        return ()
    if not isinstance(value, dict):
        raise ValueError(f"{field}: expected a table")
    return tuple((k, frozenset(_strs(v, f"{field}.{k}"))) for k, v in value.items())


def _signature(entry: dict[str, Any]) -> Signature:
    library = entry["library"]
    model = entry.get("model", {})
    requires = entry.get("requires")
    requirement: tuple[ArgSpec, ...] | None = None
    if requires is not None:
        positions = requires.get("positions", [])
        keywords = _strs(requires.get("keywords"), "requires.keywords")
        requirement = tuple(ArgSpec(p, ()) for p in positions) + ((ArgSpec(None, keywords),) if keywords else ())
    model_from = entry.get("model_from", "argument")
    if model_from not in MODEL_FROM:
        raise ValueError(f"{library}: model_from must be one of {MODEL_FROM}")
    patterns = tuple(re.compile(p) for p in _strs(entry.get("patterns"), "patterns"))
    calls = _strs(entry.get("calls"), "calls")
    if not calls and not patterns:
        raise ValueError(f"{library}: a signature needs calls or patterns")
    root_pattern = entry.get("root_pattern")
    return Signature(
        library=library, hub=entry.get("hub", "huggingface"), calls=calls, patterns=patterns,
        references=bool(entry.get("references", False)),
        model=ArgSpec(model.get("position", 0), _strs(model.get("keywords"), "model.keywords")),
        model_from=model_from, revision=_strs(entry.get("revision"), "revision"),
        trust_remote_code=_strs(entry.get("trust_remote_code"), "trust_remote_code"),
        use_safetensors=_strs(entry.get("use_safetensors"), "use_safetensors"),
        requires=requirement, string_only=bool(entry.get("string_only", False)),
        id_template=entry.get("id_template"), strip_prefixes=_strs(entry.get("strip_prefixes"), "strip_prefixes"),
        exclude=_pairs(entry.get("exclude"), "exclude"), local_if=_pairs(entry.get("local_if"), "local_if"),
        files_are_hub=bool(entry.get("files_are_hub", False)), missing_model=entry.get("missing_model"),
        roots=_strs(entry.get("roots"), "roots"),
        root_pattern=re.compile(root_pattern) if root_pattern else None,
        reference=_strs(entry.get("reference"), "reference"), requires_text=entry.get("requires_text"),
        pinned_by=entry.get("pinned_by"),
    )


class Catalogue:
    """The signatures, indexed for matching qualified names."""

    def __init__(self, signatures: tuple[Signature, ...], digest: str) -> None:
        self.signatures = signatures
        self.digest = digest
        self._exact: dict[tuple[bool, str], Signature] = {}
        self._by_root: dict[tuple[bool, str], list[tuple[re.Pattern[str], Signature]]] = defaultdict(list)
        self._by_root_pattern: list[tuple[re.Pattern[str], re.Pattern[str], Signature]] = []
        roots: set[str] = set()
        needles: dict[str, set[str | None]] = defaultdict(set)
        for sig in signatures:
            for name in sig.calls:
                self._exact.setdefault((sig.references, name), sig)
                roots.add(name.split(".", 1)[0])
                needles[name.split(".", 1)[0]].add(sig.requires_text)
            for pattern in sig.patterns:
                leading = _LEADING.match(pattern.pattern)
                pattern_roots = sig.roots or ((leading.group(),) if leading else ())
                for root in pattern_roots:
                    self._by_root[(sig.references, root)].append((pattern, sig))
                    roots.add(root)
                    needles[root].add(sig.requires_text)
                if sig.root_pattern is not None:
                    self._by_root_pattern.append((sig.root_pattern, pattern, sig))
                elif not pattern_roots:
                    raise ValueError(f"{sig.library}: pattern {pattern.pattern!r} needs roots or root_pattern")
        self.roots = frozenset(roots)
        # Roots all of whose signatures need a word in the file: the file is parsed only when it has one.
        self.root_needles = {root: frozenset(n for n in found if n) for root, found in needles.items()
                             if None not in found}
        self._root_patterns = tuple(dict.fromkeys(p for p, _, _ in self._by_root_pattern))
        self.reference_roots = frozenset(root for (ref, root) in self._by_root if ref) | frozenset(
            name.split(".", 1)[0] for (ref, name) in self._exact if ref)

    def is_root(self, module: str) -> bool:
        """Whether names under this top-level module can match a signature."""
        return module in self.roots or any(p.fullmatch(module) for p in self._root_patterns)

    def worth_reading(self, imported: set[str], text: str) -> bool:
        """Whether a file importing these top-level modules may hold a call site."""
        for root in imported:
            if self.is_root(root):
                words = self.root_needles.get(root)
                if words is None or any(w in text for w in words):
                    return True
        return False

    def match(self, qualname: str, *, reference: bool = False) -> Signature | None:
        """The signature a call of (or, with ``reference``, a reference to) ``qualname`` matches."""
        found = self._exact.get((reference, qualname))
        if found is not None:
            return found
        root = qualname.split(".", 1)[0]
        for pattern, sig in self._by_root.get((reference, root), ()):
            if pattern.fullmatch(qualname):
                return sig
        if not reference:
            for root_pattern, pattern, sig in self._by_root_pattern:
                if root_pattern.fullmatch(root) and pattern.fullmatch(qualname):
                    return sig
        return None


def load_catalogue(text: str) -> Catalogue:
    data = tomllib.loads(text)
    entries = data.get("signature")
    if not isinstance(entries, list) or not entries:
        raise ValueError("no [[signature]] entries")
    signatures = tuple(_signature(e) for e in entries)
    return Catalogue(signatures, hashlib.sha256(text.encode()).hexdigest()[:12])


@cache
def catalogue() -> Catalogue:
    """The catalogue shipped with ptmscope."""
    text = resources.files("ptmscope.usage").joinpath("signatures.toml").read_text(encoding="utf-8")
    return load_catalogue(text)


def analyzer_version() -> str:
    """What a stored analysis depends on: ptmscope's version and the catalogue's content."""
    from .. import __version__

    return f"{__version__}+sig.{catalogue().digest}"


def catalogue_summary(cat: Catalogue | None = None) -> dict[str, int]:
    """Signatures per library (exact names plus patterns), largest first."""
    counts: Counter[str] = Counter()
    for sig in (cat or catalogue()).signatures:
        counts[sig.library] += sig.count()
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
