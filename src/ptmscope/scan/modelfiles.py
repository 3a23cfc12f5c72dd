"""Model-file scanner: what loading a model file would import and run, found without loading it.

Every pickle stream in a file is decoded with :func:`pickletools.genops` and replayed on a symbolic
stack machine that only records: no ``pickle.load``, no import, no call. That covers raw pickles
whatever their name, every pickle member of a zip (``torch.save``, TorchScript, ``.npz``), the 5
consecutive pickles of legacy ``torch.save`` files, NumPy object arrays, joblib files (whose array
bytes sit inside the pickle stream) and pickles compressed with gzip, bz2, xz or zlib. Keras configs,
GGUF chat templates, safetensors headers and TensorFlow graphs are read as data.

Each import a pickle makes (GLOBAL, INST, STACK_GLOBAL resolved from the stack and memo, EXT) is
classified with an allowlist: tensor and array rebuild helpers and plain containers are clean, a
list of callables that run commands, evaluate code, import modules or reach files and sockets is
dangerous (``posix``, ``nt`` and ``os`` alike, ``importlib``, ``pydoc.locate``, ``numpy.testing``'s
``runstring`` ...), and anything else is suspicious rather than clean, so a blocklist gap only ever
lowers "dangerous" to "suspicious" (``../shared/notes/scanners-offline.md`` §6).

Rules (``RULES`` holds them with severity, vulnerability type, category and CWE):

- ``PTM-MF-001`` dangerous import: a pickle (or a Keras config ``module``) names a callable that runs
  commands, evaluates code, imports modules, or reaches files or the network. Critical.
- ``PTM-MF-002`` unknown import: a pickle imports something outside the allowlist, e.g. the classes of
  a whole-model pickle. Loading imports that module and may call it. Medium.
- ``PTM-MF-003`` Keras ``Lambda`` layer (or ``__lambda__`` function): Python bytecode in the model
  that runs when the model is loaded with ``safe_mode=False`` or by Keras 2. High.
- ``PTM-MF-004`` GGUF chat template with Jinja template-injection markers (dunder attributes such
  as ``__class__``/``__globals__``, escaped underscores, attribute access on ``cycler``/``joiner``/
  ``lipsum``/``namespace`` ...). Runners that render templates outside a sandbox execute it. High.
  A plain ``namespace(...)`` call is not flagged: ordinary chat templates use it.
- ``PTM-MF-005`` a stream that could not be fully parsed (truncated, garbled, over a cap): what lies
  past that point is unknown. Low; the file's outcome is "inconclusive".
- ``PTM-MF-006`` file-system operators (``ReadFile``, ``WriteFile``) in a TensorFlow graph. Medium.

File outcomes: clean, suspicious, dangerous, inconclusive (a stream or container could not be read
to its end, or the format was only guessed) and skipped (not a model file, empty, over the size cap,
unreadable). A file takes the worst outcome of its findings: dangerous > inconclusive > suspicious.
"""

from __future__ import annotations

import _compat_pickle
import ast
import hashlib
import importlib
import importlib.metadata
import io
import json
import logging
import lzma
import math
import os
import pickletools
import re
import stat
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import IO, cast

from . import formats
from .interface import Finding, ScanOutcome, ScanTarget, Skipped

SCANNER_NAME = "modelfiles"
ENGINE_VERSION = "1.0"

CLEAN, SUSPICIOUS, DANGEROUS, INCONCLUSIVE, SKIPPED = "clean", "suspicious", "dangerous", "inconclusive", "skipped"
OUTCOMES = (CLEAN, SUSPICIOUS, DANGEROUS, INCONCLUSIVE, SKIPPED)
_RANK = {CLEAN: 0, SUSPICIOUS: 1, INCONCLUSIVE: 2, DANGEROUS: 3}

SAFE, UNKNOWN = "safe", "unknown"  # import classes; the third is DANGEROUS

MF_DANGEROUS_IMPORT = "PTM-MF-001"
MF_UNKNOWN_IMPORT = "PTM-MF-002"
MF_KERAS_LAMBDA = "PTM-MF-003"
MF_TEMPLATE_INJECTION = "PTM-MF-004"
MF_UNPARSEABLE = "PTM-MF-005"
MF_TF_FILE_OPS = "PTM-MF-006"


@dataclass(frozen=True, slots=True)
class Rule:
    rule_id: str
    title: str
    outcome: str  # the file outcome a finding of this rule implies
    severity: str
    vuln_type: str
    cwe: str
    confidence: str
    category: str = "ai_specific"


# fmt: off
RULES: dict[str, Rule] = {
    rule.rule_id: rule
    for rule in (
        Rule(MF_DANGEROUS_IMPORT, "Dangerous import in a model file", DANGEROUS, "critical",
             "remote_code_execution", "CWE-502", "high"),
        Rule(MF_UNKNOWN_IMPORT, "Unknown import in a pickle", SUSPICIOUS, "medium",
             "unsafe_deserialization", "CWE-502", "medium"),
        Rule(MF_KERAS_LAMBDA, "Keras Lambda layer (Python bytecode in the model)", SUSPICIOUS, "high",
             "remote_code_execution", "CWE-94", "high"),
        Rule(MF_TEMPLATE_INJECTION, "Template injection in a GGUF chat template", DANGEROUS, "high",
             "remote_code_execution", "CWE-94", "medium"),
        Rule(MF_UNPARSEABLE, "Model file that could not be fully parsed", INCONCLUSIVE, "low",
             "unsafe_deserialization", "CWE-502", "low"),
        Rule(MF_TF_FILE_OPS, "File-system operator in a TensorFlow graph", SUSPICIOUS, "medium",
             "unsafe_deserialization", "CWE-73", "medium"),
    )
}
# fmt: on


@dataclass(frozen=True, slots=True)
class Limits:
    max_file_bytes: int = 64 << 30  # larger files are skipped
    max_stream_bytes: int = 8 << 30  # bytes one pickle-bearing stream may span (joblib arrays included)
    max_ops: int = 5_000_000  # opcodes per pickle stream; memory grows with them as in a real load
    max_imports: int = 10_000  # distinct imports per stream
    max_members: int = 20_000  # zip members
    max_json_bytes: int = 64 << 20  # Keras config.json, safetensors header
    max_search_bytes: int = 512 << 20  # HDF5/protobuf prefix searched for Lambda layers and operators
    max_gguf_kv: int = 1_000_000
    max_template_bytes: int = 16 << 20
    max_findings_per_rule: int = 100
    cross_check_max_bytes: int = 256 << 20  # picklescan reads long byte strings into memory


@dataclass(frozen=True, slots=True)
class FileVerdict:
    format: str | None  # formats.detect_format's name
    outcome: str  # one of OUTCOMES
    reasons: tuple[str, ...]
    globals: tuple[str, ...]  # every "module.name" the file's pickles import, as written
    findings: tuple[Finding, ...] = ()
    engines: tuple[tuple[str, str], ...] = ()  # (engine and version, what it said)


# --- which imports are safe, dangerous, or unknown ------------------------------------------------

# fmt: off
_TORCH_DTYPES = (
    "float32", "float", "float64", "double", "float16", "half", "bfloat16", "complex32", "chalf", "complex64",
    "cfloat", "complex128", "cdouble", "uint8", "uint16", "uint32", "uint64", "int8", "int16", "short", "int32",
    "int", "int64", "long", "bool", "quint8", "qint8", "qint32", "quint4x2", "quint2x4", "float8_e4m3fn",
    "float8_e5m2", "float8_e4m3fnuz", "float8_e5m2fnuz", "bits1x8", "bits2x4", "bits4x2", "bits8", "bits16",
)
_TORCH_MISC = (
    "Size", "device", "dtype", "Tensor", "strided", "sparse_coo", "sparse_csr", "sparse_csc", "sparse_bsr",
    "sparse_bsc", "_mkldnn", "per_tensor_affine", "per_channel_affine", "per_tensor_symmetric",
    "per_channel_symmetric", "per_channel_affine_float_qparams", "contiguous_format", "channels_last",
    "channels_last_3d", "preserve_format",
)
_TORCH_REBUILD = (
    "_rebuild_tensor", "_rebuild_tensor_v2", "_rebuild_tensor_v3", "_rebuild_parameter",
    "_rebuild_parameter_with_state", "_rebuild_sparse_tensor", "_rebuild_sparse_csr_tensor", "_rebuild_nested_tensor",
    "_rebuild_qtensor", "_rebuild_device_tensor_from_numpy", "_rebuild_device_tensor_from_cpu_tensor",
    "_rebuild_meta_tensor_no_storage", "_rebuild_wrapper_subclass", "_rebuild_xla_tensor", "_rebuild_mtia_tensor",
)
_SAFE_BUILTINS = (
    "set", "frozenset", "slice", "range", "complex", "bytearray", "bytes", "int", "float", "str", "tuple", "list",
    "dict", "bool", "object",
)
_SAFE_GLOBALS = frozenset((
    *(f"torch.{n}" for n in _TORCH_DTYPES + _TORCH_MISC),
    *(f"torch._utils.{n}" for n in _TORCH_REBUILD),
    *(f"builtins.{n}" for n in _SAFE_BUILTINS),
    "torch._tensor._rebuild_from_type_v2", "torch.nn.parameter.Parameter", "torch.nn.parameter.Buffer",
    "torch.nn.parameter.UninitializedParameter", "torch.serialization._get_layout",
    "torch.storage.UntypedStorage", "torch.storage.TypedStorage", "torch.UntypedStorage",
    "torch.torch_version.TorchVersion",
    "collections.OrderedDict", "collections.defaultdict", "collections.Counter", "collections.deque",
    "copyreg._reconstructor", "copyreg.__newobj__", "copyreg.__newobj_ex__", "_codecs.encode", "codecs.encode",
    "argparse.Namespace", "datetime.datetime", "datetime.date", "datetime.time", "datetime.timedelta",
    "datetime.timezone", "decimal.Decimal", "fractions.Fraction", "uuid.UUID",
    "pathlib.Path", "pathlib.PosixPath", "pathlib.WindowsPath", "pathlib.PurePath", "pathlib.PurePosixPath",
    "pathlib.PureWindowsPath",
    "numpy.dtype", "numpy.ndarray", "numpy.core.multiarray._reconstruct", "numpy._core.multiarray._reconstruct",
    "numpy.core.multiarray.scalar", "numpy._core.multiarray.scalar", "numpy.core.numeric._frombuffer",
    "numpy._core.numeric._frombuffer", "numpy.ma.core._mareconstruct", "numpy.random._pickle.__randomstate_ctor",
    "numpy.random._pickle.__bit_generator_ctor", "numpy.random._pickle.__generator_ctor",
    "joblib.numpy_pickle.NumpyArrayWrapper",
))
_STORAGE_MODULES = frozenset({"torch", "torch.cuda", "torch.storage"})

_DANGEROUS_PREFIXES = frozenset({
    "os", "posix", "nt", "_posixsubprocess", "subprocess", "pty", "commands", "popen2", "platform", "importlib",
    "imp", "pkgutil", "zipimport", "runpy", "pydoc", "sys", "code", "codeop", "cProfile", "profile", "timeit",
    "trace", "pdb", "bdb", "doctest", "idlelib", "lib2to3", "webbrowser", "socket", "ssl", "http", "httplib",
    "urllib", "urllib2", "urllib3", "requests", "aiohttp", "ftplib", "smtplib", "telnetlib", "asyncio",
    "multiprocessing", "shutil", "ctypes", "_ctypes", "cffi", "marshal", "types", "pickle", "_pickle", "cPickle",
    "dill", "cloudpickle", "shelve", "numpy.testing", "numpy.f2py", "numpy.distutils", "numpy.ctypeslib", "venv",
    "ensurepip", "pip", "distutils", "setuptools", "test", "_osx_support", "_aix_support", "_pyrepl", "antigravity",
    "logging.config", "torch.hub", "torch.utils.collect_env", "torch.utils.bottleneck",
})
_DANGEROUS_BUILTINS = (
    "eval", "exec", "execfile", "compile", "getattr", "setattr", "delattr", "open", "file", "input", "raw_input",
    "breakpoint", "apply", "globals", "locals", "vars", "reload", "help",
)
_DANGEROUS_GLOBALS = frozenset((
    *(f"builtins.{n}" for n in _DANGEROUS_BUILTINS),
    *(f"{m}.{n}" for m in ("operator", "_operator") for n in ("attrgetter", "itemgetter", "methodcaller")),
    "functools.partial", "io.open", "io.FileIO", "_io.open", "_io.FileIO", "codecs.open", "logging.FileHandler",
    "torch.load", "torch.serialization.load", "torch.jit.load", "numpy.load", "numpy.lib.npyio.load",
    "pandas.read_pickle", "pandas.io.pickle.read_pickle", "joblib.load", "joblib.numpy_pickle.load",
    "keras.models.load_model", "keras.saving.load_model", "tensorflow.keras.models.load_model",
    "yaml.load", "yaml.unsafe_load", "yaml.load_all", "yaml.unsafe_load_all", "yaml.full_load",
    "uuid._get_command_stdout", "imaplib.IMAP4_stream", "torch._dynamo.guards.GuardBuilder.get",
    "torch._inductor.codecache.compile_file",
    "torch.fx.experimental.symbolic_shapes.ShapeEnv.evaluate_guards_expression",
    "torch.jit.unsupported_tensor_ops.execWrapper", "torch.utils._config_module.ConfigModule.load_config",
    "torch.utils.data.datapipes.utils.decoder.basichandlers",
))
# Names that make a dotted attribute path (protocol 4 resolves "a.b.c" by getattr) dangerous.
_DANGEROUS_ATTRIBUTES = frozenset({
    *(p for p in _DANGEROUS_PREFIXES if "." not in p),
    *_DANGEROUS_BUILTINS,
    "system", "popen", "spawn", "import_module", "locate", "loads", "load", "run", "call", "check_output", "Popen",
    "modules", "builtins",
})
# fmt: on
_DUNDER = re.compile(r"__\w+__")


def classify_global(module: str, name: str) -> tuple[str, str]:
    """(``"safe"``, ``"dangerous"`` or ``"unknown"``, why) for an import ``module``/``name`` in a pickle.

    Python 2 names are mapped the way the unpickler maps them (``__builtin__`` → ``builtins``,
    ``commands`` → ``subprocess``), and a dotted ``name`` is an attribute path, as protocol 4 resolves it.
    """
    module, name = _canonical(module, name)
    full = f"{module}.{name}"
    parts = name.split(".")
    if full in _SAFE_GLOBALS or _safe_by_pattern(module, parts):
        return SAFE, "on the allowlist"
    if any(_DUNDER.fullmatch(p) for p in parts):
        return DANGEROUS, "reaches a dunder attribute, a way to any object in the process"
    if full in _DANGEROUS_GLOBALS:
        return DANGEROUS, _why_dangerous(module, parts[-1])
    pieces = full.split(".")
    for i in range(1, len(pieces) + 1):
        prefix = ".".join(pieces[:i])
        if prefix in _DANGEROUS_PREFIXES:
            return DANGEROUS, _why_dangerous(prefix, parts[-1])
    if len(parts) > 1 and any(p in _DANGEROUS_ATTRIBUTES for p in parts):
        return DANGEROUS, "an attribute path to a command, code or import primitive"
    return UNKNOWN, "not on the allowlist of known-safe globals"


def _canonical(module: str, name: str) -> tuple[str, str]:
    if (module, name) in _compat_pickle.NAME_MAPPING:
        module, name = _compat_pickle.NAME_MAPPING[(module, name)]
    elif module in _compat_pickle.IMPORT_MAPPING:
        module = _compat_pickle.IMPORT_MAPPING[module]
    return module, name


def _safe_by_pattern(module: str, parts: list[str]) -> bool:
    if len(parts) != 1:
        return False
    name = parts[0]
    if module in _STORAGE_MODULES and name.endswith("Storage") and name.isidentifier():
        return True
    # Classes of torch.nn modules (whole-model pickles); "F" is torch.nn.functional re-exported.
    if module.startswith("torch.nn.modules.") and name[:1].isupper() and name != "F":
        return True
    # TorchScript pickles name TorchScript classes (``__torch__.*``), which no Python module provides,
    # and torch.jit._pickle's list builders.
    return module == "__torch__" or module.startswith("__torch__.") or module == "torch.jit._pickle"


def _why_dangerous(module: str, name: str) -> str:
    if module in ("posix", "nt"):
        return f"runs commands or touches files ({module} is the name pickle gives the os module there)"
    if module == "os":
        return "runs commands or touches files"
    if module == "builtins":
        return f"builtins.{name} evaluates code, imports, or reaches any attribute or file"
    return f"{module} can run commands, evaluate code, import modules, or reach files or the network"


# --- reading pickle streams with bounded memory ----------------------------------------------------

_ELIDE_ABOVE = 1 << 16  # longer byte arguments are skipped, not read
_MAX_LINE = 1 << 20
_MAX_ITEMS = 1000  # container items kept by the symbolic machine; the rest are counted out
_PREVIEW = 160


# What reading a damaged or hostile container can raise (zipfile alone raises most of these).
_READ_ERRORS = (
    zipfile.BadZipFile, OSError, EOFError, ValueError, RuntimeError, NotImplementedError, zlib.error,
    lzma.LZMAError, struct.error,
)  # fmt: skip


class _CutError(Exception):
    """The stream could not be followed further (a cap, or data that is not the pickle it claims)."""


class _Elided(bytes):
    """Stands in for a long byte argument that was skipped: genops only checks its length."""

    _length: int

    def __new__(cls, length: int) -> _Elided:
        self = super().__new__(cls)
        self._length = length
        return self

    def __len__(self) -> int:
        return self._length


class _Reader:
    """What :func:`pickletools.genops` reads from: counts position, skips long arguments, and stops at
    the byte budget, so that a huge or hostile stream cannot fill memory."""

    def __init__(self, raw: IO[bytes], size: int | None, budget: int) -> None:
        self._raw = raw
        self._size = size  # bytes available from the start, when known
        self._budget = budget
        self._pos = 0

    def tell(self) -> int:
        return self._pos

    def read(self, n: int = -1) -> bytes:
        if n > _ELIDE_ABOVE:
            return _Elided(n) if self.skip(n) == n else b""
        if n < 0:
            raise _CutError("unbounded read")
        self._charge(n)
        data = self._raw.read(n)
        self._pos += len(data)
        return data

    def readline(self) -> bytes:
        line = self._raw.readline(_MAX_LINE)
        self._pos += len(line)
        self._charge(0)
        return line

    def skip(self, n: int) -> int:
        """Moves ``n`` bytes on (fewer at the end of the stream); returns how many."""
        self._charge(n)
        if self._size is not None:
            n = min(n, self._size - self._pos)
        moved = 0
        if self._size is not None and self._raw.seekable():
            self._raw.seek(n, io.SEEK_CUR)
            moved = n
        else:
            while moved < n:
                chunk = self._raw.read(min(n - moved, 1 << 20))
                if not chunk:
                    break
                moved += len(chunk)
        self._pos += moved
        return moved

    def at_end(self) -> bool:
        if self._size is not None:
            return self._pos >= self._size
        peek = getattr(self._raw, "peek", None)
        return not (peek(1) if peek is not None else b"")

    def _charge(self, n: int) -> None:
        if self._pos + n > self._budget:
            raise _CutError(f"stream longer than the {self._budget}-byte cap")


# --- the symbolic pickle machine -------------------------------------------------------------------


class _Marker:
    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


_UNKNOWN = _Marker("<?>")


@dataclass(eq=False)
class _Ref:
    """A global the stream imports."""

    module: str
    name: str
    record: _Import

    def __repr__(self) -> str:
        return f"{self.module}.{self.name}"


@dataclass(eq=False)
class _Obj:
    """What a call at load time would return: the callable, its arguments, and any BUILD state."""

    func: object
    args: object
    state: object = None

    def __repr__(self) -> str:
        return f"{self.func!r}(...)"


@dataclass
class _Import:
    module: str
    name: str
    opcode: str
    offset: int
    verdict: str
    why: str
    call: str | None = None  # preview of the first call's arguments

    @property
    def full(self) -> str:
        return f"{self.module}.{self.name}"


@dataclass
class _StreamResult:
    imports: list[_Import]
    problem: str | None  # why the stream could not be followed to its STOP, or did not add up
    ops: int


# fmt: off
_PUSH_ARG = frozenset({
    "INT", "BININT", "BININT1", "BININT2", "LONG", "LONG1", "LONG4", "FLOAT", "BINFLOAT", "STRING", "BINSTRING",
    "SHORT_BINSTRING", "BINBYTES", "SHORT_BINBYTES", "BINBYTES8", "BYTEARRAY8", "UNICODE", "SHORT_BINUNICODE",
    "BINUNICODE", "BINUNICODE8",
})
# fmt: on
_CONSTANTS: dict[str, object] = {"NONE": None, "NEWTRUE": True, "NEWFALSE": False}


class _PickleMachine:
    """Replays one pickle stream on a stack of inert values, recording imports and calls.

    It follows the stack and memo the way :class:`pickle._Unpickler` does, so STACK_GLOBAL's module
    and name are the strings that would really be on the stack, however they got there (memo, DUP).
    Where a real load would fail (stack underflow, missing MARK or memo key), it notes the problem and
    goes on with placeholders rather than stopping early, so nothing after the fault goes unseen.
    """

    def __init__(self, reader: _Reader, limits: Limits, depth: int = 0, *, joblib_arrays: bool = True) -> None:
        self.reader = reader
        self.limits = limits
        self.depth = depth
        self.skip_joblib_arrays = joblib_arrays
        self.joblib_arrays = False  # whether a joblib array wrapper was met
        self.stack: list[object] = []
        self.metastack: list[list[object]] = []
        self.memo: dict[int, object] = {}
        self.imports: dict[tuple[str, str], _Import] = {}
        self.problems: list[str] = []
        self.pos = 0
        push = self._push
        # Arguments are evaluated before ``push`` reads self.stack, which _pop_mark swaps.
        self.handlers: dict[str, Callable[[object], object]] = {
            "MARK": lambda _: self._mark(),
            "POP": lambda _: self._pop_any(),
            "POP_MARK": lambda _: self._pop_mark(),
            "DUP": lambda _: push(self._top()),
            "EMPTY_LIST": lambda _: push([]),
            "EMPTY_DICT": lambda _: push({}),
            "EMPTY_TUPLE": lambda _: push(()),
            "EMPTY_SET": lambda _: push([]),
            "LIST": lambda _: push(self._pop_mark()[:_MAX_ITEMS]),
            "TUPLE": lambda _: push(tuple(self._pop_mark()[:_MAX_ITEMS])),
            "FROZENSET": lambda _: push(tuple(self._pop_mark()[:_MAX_ITEMS])),
            "TUPLE1": lambda _: self._tuple(1),
            "TUPLE2": lambda _: self._tuple(2),
            "TUPLE3": lambda _: self._tuple(3),
            "DICT": lambda _: push(self._set_items({}, self._pop_mark())),
            "APPEND": lambda _: self._extend([self._pop()]),
            "APPENDS": lambda _: self._extend(self._pop_mark()),
            "ADDITEMS": lambda _: self._extend(self._pop_mark()),
            "SETITEM": lambda _: self._setitem(),
            "SETITEMS": lambda _: self._set_items_on_top(self._pop_mark()),
            "GET": self._get,
            "BINGET": self._get,
            "LONG_BINGET": self._get,
            "PUT": self._put,
            "BINPUT": self._put,
            "LONG_BINPUT": self._put,
            "MEMOIZE": lambda _: self._put(len(self.memo)),
            "GLOBAL": lambda arg: push(self._global(str(arg), "GLOBAL")),
            "INST": self._inst,
            "STACK_GLOBAL": lambda _: self._stack_global(),
            "EXT1": self._ext,
            "EXT2": self._ext,
            "EXT4": self._ext,
            "REDUCE": lambda _: self._reduce(),
            "NEWOBJ": lambda _: self._reduce(),
            "NEWOBJ_EX": lambda _: self._newobj_ex(),
            "OBJ": lambda _: self._obj(),
            "BUILD": lambda _: self._build(),
            "PERSID": lambda _: push(_Marker("<persistent id>")),
            "BINPERSID": lambda _: push(_Marker(f"<persistent id {_preview(self._pop())}>")),
            "NEXT_BUFFER": lambda _: push(_Marker("<out-of-band buffer>")),
            "READONLY_BUFFER": lambda _: None,
            "PROTO": lambda _: None,
            "FRAME": lambda _: None,
            "STOP": lambda _: self._pop(),
        }

    def run(self) -> _StreamResult:
        ops = 0
        problem: str | None = None
        try:
            for op, arg, pos in pickletools.genops(cast(IO[bytes], self.reader)):
                ops += 1
                if ops > self.limits.max_ops:
                    raise _CutError(f"more than {self.limits.max_ops} opcodes")
                self.pos = pos or 0
                if op.name in _PUSH_ARG:
                    self.stack.append(arg)
                elif op.name in _CONSTANTS:
                    self.stack.append(_CONSTANTS[op.name])
                else:
                    self.handlers[op.name](arg)
        except _CutError as cut:
            problem = f"{cut} (at byte {self.reader.tell()})"
        except _READ_ERRORS as error:
            problem = f"not a complete pickle: {error}"
        if problem is None and self.problems:
            problem = "pickle does not add up, a real load fails there: " + "; ".join(self.problems)
        return _StreamResult(list(self.imports.values()), problem, ops)

    # stack primitives, lenient where pickle.py would raise

    def _problem(self, what: str) -> None:
        if len(self.problems) < 3:
            self.problems.append(f"{what} at byte {self.pos}")

    def _push(self, value: object) -> None:
        self.stack.append(value)

    def _pop(self) -> object:
        if self.stack:
            return self.stack.pop()
        self._problem("stack underflow")
        return _UNKNOWN

    def _top(self) -> object:
        if self.stack:
            return self.stack[-1]
        self._problem("stack underflow")
        return _UNKNOWN

    def _mark(self) -> None:
        self.metastack.append(self.stack)
        self.stack = []

    def _pop_mark(self) -> list[object]:
        items = self.stack
        if self.metastack:
            self.stack = self.metastack.pop()
        else:
            self._problem("no MARK on the stack")
            self.stack = []
        return items

    def _pop_any(self) -> None:
        if self.stack:
            self.stack.pop()
        else:
            self._pop_mark()

    def _tuple(self, n: int) -> None:
        items = [self._pop() for _ in range(n)]
        self._push(tuple(reversed(items)))

    def _extend(self, items: list[object]) -> None:
        target = self._top()
        if isinstance(target, list):
            target.extend(items[: max(0, _MAX_ITEMS - len(target))])

    def _set_items(self, target: object, items: list[object]) -> object:
        if isinstance(target, dict):
            for key, value in zip(items[::2], items[1::2], strict=False):
                if len(target) < _MAX_ITEMS and _hashable(key):
                    target[key] = value
        return target

    def _setitem(self) -> None:
        value = self._pop()
        key = self._pop()
        self._set_items(self._top(), [key, value])

    def _set_items_on_top(self, items: list[object]) -> None:
        self._set_items(self._top(), items)

    def _get(self, arg: object) -> None:
        key = arg if isinstance(arg, int) else -1
        if key in self.memo:
            self._push(self.memo[key])
        else:
            self._problem(f"memo key {arg!r} read before it was written")
            self._push(_UNKNOWN)

    def _put(self, arg: object) -> None:
        if isinstance(arg, int) and arg >= 0:
            self.memo[arg] = self._top()
        else:
            self._problem(f"bad memo key {arg!r}")

    # imports and calls

    def _global(self, arg: str, opcode: str) -> _Ref:
        module, _, name = arg.partition(" ")
        return self._record(module, name, opcode)

    def _record(self, module: str, name: str, opcode: str, computed: bool = False) -> _Ref:
        key = (module, name)
        if key not in self.imports:
            if len(self.imports) >= self.limits.max_imports:
                raise _CutError(f"more than {self.limits.max_imports} distinct imports")
            if computed:
                # e.g. _codecs.encode("bf", "rot13") gives "os" at load time, with only allowlisted globals.
                verdict, why = DANGEROUS, "the module or name is computed at load time, hiding what is imported"
            else:
                verdict, why = classify_global(module, name)
            self.imports[key] = _Import(module, name, opcode, self.pos, verdict, why)
        return _Ref(module, name, self.imports[key])

    def _stack_global(self) -> None:
        name = self._pop()
        module = self._pop()
        if isinstance(module, str) and isinstance(name, str):
            self._push(self._record(module, name, "STACK_GLOBAL"))
        elif isinstance(module, _Obj | str) and isinstance(name, _Obj | str):
            module, name = (v if isinstance(v, str) else _preview(v) for v in (module, name))
            self._push(self._record(module, name, "STACK_GLOBAL", computed=True))
        else:
            self._problem("STACK_GLOBAL without two strings")
            self._push(_UNKNOWN)

    def _inst(self, arg: object) -> None:
        module, _, name = str(arg).partition(" ")
        args = tuple(self._pop_mark())
        ref = self._record(module, name, "INST")
        self._push(self._call(ref, args))

    def _ext(self, arg: object) -> None:
        # The extension registry maps the code to a global at load time; which one, only the loader knows.
        self._push(self._record("copyreg._extension_registry", f"code_{arg}", "EXT"))

    def _reduce(self) -> None:
        args = self._pop()
        func = self._pop()
        self._push(self._call(func, args))

    def _newobj_ex(self) -> None:
        self._pop()  # keyword arguments
        args = self._pop()
        cls = self._pop()
        self._push(self._call(cls, args))

    def _obj(self) -> None:
        items = self._pop_mark()
        func = items[0] if items else _UNKNOWN
        self._push(self._call(func, tuple(items[1:])))

    def _call(self, func: object, args: object) -> _Obj:
        if isinstance(func, _Ref) and func.record.call is None:
            func.record.call = _preview(args)
        return _Obj(func, args)

    def _build(self) -> None:
        state = self._pop()
        target = self._top()
        if isinstance(target, _Obj):
            target.state = state
            if _class_of(target) == ("joblib.numpy_pickle", "NumpyArrayWrapper"):
                self.joblib_arrays = True
                if self.skip_joblib_arrays:
                    self._skip_joblib_array(state)

    def _skip_joblib_array(self, state: object) -> None:
        """joblib writes each array's bytes right after its wrapper's BUILD, inside the pickle stream
        (joblib/numpy_pickle.py, NumpyArrayWrapper.write_array): step over them, or scan them as a
        pickle when the array holds Python objects."""
        if not isinstance(state, dict):
            raise _CutError("joblib array wrapper without a readable state")
        shape, dtype = state.get("shape"), state.get("dtype")
        layout = _dtype_layout(dtype)
        if not (isinstance(shape, tuple) and all(isinstance(n, int) and n >= 0 for n in shape)) or layout is None:
            raise _CutError("joblib array of unknown size")
        itemsize, has_objects = layout
        if has_objects:
            if self.depth >= 2:
                raise _CutError("joblib object arrays nested too deeply")
            inner = _PickleMachine(self.reader, self.limits, self.depth + 1).run()
            for imp in inner.imports:
                self.imports.setdefault((imp.module, imp.name), imp)
            if inner.problem:
                raise _CutError(f"joblib object array: {inner.problem}")
            return
        if state.get("numpy_array_alignment_bytes") is not None:
            padding = self.reader.read(1)
            if not padding:
                raise _CutError("joblib array padding missing")
            self.reader.skip(padding[0])
        nbytes = math.prod(shape) * itemsize
        if self.reader.skip(nbytes) != nbytes:
            raise _CutError(f"joblib array data cut short (wanted {nbytes} bytes)")


def _hashable(value: object) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def _class_of(obj: _Obj) -> tuple[str, str] | None:
    func = obj.func
    # Protocols 0 and 1 build plain objects with copyreg._reconstructor(cls, base, state).
    if isinstance(func, _Ref) and func.name == "_reconstructor" and func.module in ("copyreg", "copy_reg"):
        func = obj.args[0] if isinstance(obj.args, tuple) and obj.args else None
    return (func.module, func.name) if isinstance(func, _Ref) else None


_DESCR = re.compile(r"[<>|=]?([a-zA-Z])(\d+)")
_IMPORT_NAME = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)+")


def _dtype_layout(dtype: object) -> tuple[int, bool] | None:
    """(item size in bytes, holds Python objects) of a pickled ``numpy.dtype``, from its reduce
    arguments (``('f8', False, True)``) and BUILD state (``(3, '<', subarray, names, fields, elsize,
    alignment, flags)``, elsize set for flexible types, flags bit 0 = holds objects)."""
    if not isinstance(dtype, _Obj) or not isinstance(dtype.args, tuple) or not dtype.args:
        return None
    descr = dtype.args[0]
    state = dtype.state if isinstance(dtype.state, tuple) else ()
    elsize = state[5] if len(state) > 5 and isinstance(state[5], int) else -1
    flags = state[7] if len(state) > 7 and isinstance(state[7], int) else 0
    has_objects = (isinstance(descr, str) and descr.startswith("O")) or bool(flags & 1)
    if elsize > 0:
        return elsize, has_objects
    match = _DESCR.fullmatch(descr) if isinstance(descr, str) else None
    if match is None:
        return None
    return int(match.group(2)) * (4 if match.group(1) == "U" else 1), has_objects


def _preview(value: object) -> str:
    text = _short(value, 0)
    return text if len(text) <= _PREVIEW else text[: _PREVIEW - 1] + "…"


def _short(value: object, depth: int) -> str:
    if depth > 3:
        return "…"
    if isinstance(value, _Elided):
        return f"<{len(value)} bytes>"
    if isinstance(value, str | bytes | bytearray):
        return repr(value[:_PREVIEW])
    if isinstance(value, tuple | list):
        inner = ", ".join(_short(v, depth + 1) for v in value[:8])
        more = ", …" if len(value) > 8 else ""
        return f"({inner}{more}{',' if len(value) == 1 else ''})" if isinstance(value, tuple) else f"[{inner}{more}]"
    if isinstance(value, dict):
        return (
            "{" + ", ".join(f"{_short(k, depth + 1)}: {_short(v, depth + 1)}" for k, v in list(value.items())[:8]) + "}"
        )
    return repr(value)


# --- the analysis of one file ----------------------------------------------------------------------


class _Analysis:
    """Findings, reasons and imports of one file; the outcome is the worst its findings imply."""

    def __init__(self, display: str, limits: Limits) -> None:
        self.display = display
        self.limits = limits
        self.rank = 0
        self.reasons: list[str] = []
        self.globals: dict[str, None] = {}
        self.findings: dict[tuple[str, str], Finding] = {}
        self.seen: set[tuple[str, str]] = set()
        self.per_rule: dict[str, int] = {}
        self.dropped: dict[str, int] = {}

    def hit(self, rule_id: str, subject: str, message: str, snippet: str | None = None) -> None:
        if (rule_id, subject) in self.seen:
            return
        self.seen.add((rule_id, subject))
        rule = RULES[rule_id]
        self.rank = max(self.rank, _RANK[rule.outcome])
        if self.per_rule.get(rule_id, 0) >= self.limits.max_findings_per_rule:
            self.dropped[rule_id] = self.dropped.get(rule_id, 0) + 1
            return
        self.per_rule[rule_id] = self.per_rule.get(rule_id, 0) + 1
        self.reasons.append(message)
        self.findings[(rule_id, subject)] = Finding(
            scanner=SCANNER_NAME,
            rule_id=rule_id,
            path=self.display,
            line=None,
            message=message,
            original_severity=rule.outcome,
            severity=rule.severity,
            vuln_type=rule.vuln_type,
            category=rule.category,
            cwe=rule.cwe,
            confidence=rule.confidence,
            snippet=snippet,
        )

    def unparseable(self, where: str, why: str) -> None:
        self.hit(MF_UNPARSEABLE, where, f"{where}: {why}; what follows could not be checked")

    def note(self, reason: str) -> None:
        self.reasons.append(reason)

    def imports(self, where: str, result: _StreamResult) -> None:
        for imp in result.imports:
            self.globals.setdefault(imp.full, None)
            call = f" and calls it with {imp.call}" if imp.call is not None else ""
            if imp.verdict == DANGEROUS:
                message = (
                    f"{where} imports {imp.full}{call} ({imp.opcode} at byte {imp.offset}): {imp.why}; "
                    "loading the file runs this"
                )
                self.hit(MF_DANGEROUS_IMPORT, imp.full, message, snippet=imp.call)
            elif imp.verdict == UNKNOWN:
                message = (
                    f"{where} imports {imp.full}{call} ({imp.opcode} at byte {imp.offset}), {imp.why}; "
                    "loading the file imports that module"
                )
                self.hit(MF_UNKNOWN_IMPORT, imp.full, message, snippet=imp.call)
        if result.problem:
            self.unparseable(where, result.problem)

    def verdict(self, fmt: str | None) -> FileVerdict:
        reasons = list(self.reasons)
        reasons += [f"{n} more {RULES[r].title.lower()} findings not listed" for r, n in self.dropped.items()]
        outcome = next(name for name, rank in _RANK.items() if rank == self.rank)
        if outcome == CLEAN and not reasons:
            reasons.append(f"{fmt}: nothing found")
        return FileVerdict(
            format=fmt,
            outcome=outcome,
            reasons=tuple(reasons),
            globals=tuple(sorted(self.globals)),
            findings=tuple(self.findings.values()),
        )


class _FileScan:
    """Walks one file's containers and streams; every reader is bounded by ``limits``."""

    def __init__(self, analysis: _Analysis, limits: Limits) -> None:
        self.a = analysis
        self.limits = limits

    def stream(self, fmt: str, raw: IO[bytes], size: int | None, where: str = "", depth: int = 0) -> None:
        """Scan ``raw`` as ``fmt``. ``where`` names the stream inside the file ("" for the file itself):
        messages never hold the file's path, so one scan of a content serves every path holding it."""
        try:
            self._stream(fmt, raw, size, where, depth)
        except _READ_ERRORS as error:
            self.a.unparseable(where or fmt, f"unreadable ({type(error).__name__}: {error})")

    def _stream(self, fmt: str, raw: IO[bytes], size: int | None, where: str, depth: int) -> None:
        codec, inner = formats.split_codec(fmt)
        label = where or fmt
        start = raw.tell()

        def rewound() -> IO[bytes]:
            raw.seek(start)
            return raw if codec is None else formats.open_decompressed(codec, raw)

        if codec is not None:
            self.pickles(
                inner, rewound, None, f"{where} ({codec}-compressed)" if where else f"{codec}-compressed {inner}"
            )
        elif fmt in formats.PICKLE_FAMILY:
            self.pickles(fmt, rewound, size, label)
        elif fmt in formats.ZIP_FORMATS:
            self.zip(fmt, raw, where, depth)
        elif fmt == formats.GGUF:
            self.gguf(raw, size, label)
        elif fmt == formats.SAFETENSORS:
            self.safetensors(raw, size, label)
        elif fmt == formats.HDF5:
            self.search(raw, label, keras=True, tf_ops=False)
        elif fmt in (formats.TF_SAVEDMODEL, formats.TF_PROTOBUF):
            self.search(raw, label, keras=True, tf_ops=True)
        elif fmt == formats.ONNX_MAYBE:
            self.a.unparseable(label, "named like ONNX but its first bytes are not an ONNX ModelProto")
        elif fmt == formats.LZ4_MAYBE:
            self.a.unparseable(label, "LZ4-compressed (joblib's lz4 option), which the standard library cannot open")
        else:
            self.a.note(f"{label}: {fmt}, a format that holds no code")

    # pickles

    def pickles(self, fmt: str, rewound: Callable[[], IO[bytes]], size: int | None, where: str) -> None:
        """Every pickle of a pickle-bearing stream; ``rewound`` gives the stream from its start."""
        reader = _Reader(rewound(), size, self.limits.max_stream_bytes)
        expected: int | None = None
        if fmt == formats.NPY:
            try:
                has_objects = _npy_header(reader)
            except _CutError as cut:
                self.a.unparseable(where, f"NumPy header: {cut}")
                return
            if not has_objects:
                self.a.note(f"{where}: NumPy array of plain numbers, no pickle")
                return
            where, expected = f"{where} (object array)", 1
        elif fmt == formats.TORCH_LEGACY:
            # torch.load reads exactly five pickles (magic number, protocol, sys info, data, storage
            # keys); raw storage bytes follow.
            expected = 5
        count, joblib, problem = 0, False, False
        while expected is None or count < expected:
            if reader.at_end():
                break
            count += 1
            if expected is not None and expected > 1:
                label = f"{where} pickle {count} of {expected}"
            else:
                label = f"{where} pickle {count}" if count > 1 else where
            machine = _PickleMachine(reader, self.limits)
            result = machine.run()
            joblib = joblib or machine.joblib_arrays
            self.a.imports(label, result)
            if result.problem:
                problem = True
                break
        if not problem and (count == 0 or (expected is not None and count < expected)):
            self.a.unparseable(where, f"{count} pickle(s) where {expected or 1} were expected")
        if joblib:
            self.as_plain_pickle(rewound(), size, where)

    def as_plain_pickle(self, raw: IO[bytes], size: int | None, where: str) -> None:
        """What ``pickle.load`` (or pandas, or torch) would read from a joblib file: it does not skip the
        array bytes but reads them as opcodes, so a file built to look like joblib could hide a payload
        there. Real array bytes soon stop that reading; only imports with proper names are kept."""
        machine = _PickleMachine(_Reader(raw, size, self.limits.max_stream_bytes), self.limits, joblib_arrays=False)
        result = machine.run()
        named = [imp for imp in result.imports if _IMPORT_NAME.fullmatch(imp.full)]
        self.a.imports(f"{where} (read as a plain pickle)", _StreamResult(named, None, result.ops))

    # zips

    def zip(self, fmt: str, raw: IO[bytes], where: str, depth: int) -> None:
        try:
            archive = zipfile.ZipFile(raw)
        except _READ_ERRORS as error:
            self.a.unparseable(where or fmt, f"unreadable zip ({error})")
            return
        with archive:
            infos = archive.infolist()
            if len(infos) > self.limits.max_members:
                self.a.unparseable(where or fmt, f"{len(infos)} zip members, over the cap of {self.limits.max_members}")
                infos = infos[: self.limits.max_members]
            if fmt == formats.KERAS:
                self.keras_config(archive, where)
            for info in infos:
                if info.is_dir() or _is_torch_storage(info.filename):
                    continue
                member_where = _within(where, info.filename)
                try:
                    self.member(archive, info, member_where, depth)
                except _READ_ERRORS as error:
                    self.a.unparseable(member_where, f"unreadable zip member ({type(error).__name__}: {error})")

    def member(self, archive: zipfile.ZipFile, info: zipfile.ZipInfo, where: str, depth: int) -> None:
        with archive.open(info) as member:
            fmt = formats.sniff(member, info.filename, size=info.file_size)
        if fmt is None and PurePosixPath(info.filename).suffix in (".pkl", ".pickle"):
            fmt = formats.PICKLE  # torch unpickles data.pkl whatever its first bytes say
        if fmt is None or (fmt in formats.ZIP_FORMATS and depth >= 2):
            return
        with archive.open(info) as member:
            self.stream(fmt, member, info.file_size, where, depth + 1)

    def keras_config(self, archive: zipfile.ZipFile, where: str) -> None:
        where = _within(where, "config.json")
        info = archive.getinfo("config.json")
        if info.file_size > self.limits.max_json_bytes:
            self.a.unparseable(where, f"{info.file_size} bytes, over the JSON cap")
            return
        try:
            config = json.loads(archive.read(info))
        except RecursionError:
            self.a.unparseable(where, "JSON nested too deeply")
            return
        except _READ_ERRORS as error:
            self.a.unparseable(where, f"unreadable ({type(error).__name__}: {error})")
            return
        self.keras_objects(config, where)

    def keras_objects(self, config: object, where: str) -> None:
        todo: list[tuple[object, bool]] = [(config, False)]  # (node, inside a Lambda layer already reported)
        while todo:
            node, in_lambda = todo.pop()
            if isinstance(node, list):
                todo.extend((item, in_lambda) for item in node)
                continue
            if not isinstance(node, dict):
                continue
            class_name, module = node.get("class_name"), node.get("module")
            if class_name in ("Lambda", "__lambda__") and not in_lambda:
                inner = node.get("config")
                layer = inner.get("name") if isinstance(inner, dict) else None
                self.a.hit(
                    MF_KERAS_LAMBDA,
                    f"{where}:{layer}",
                    f"{where}: Keras {class_name} {layer!r} holds Python bytecode that runs when the model is "
                    "loaded (Keras 2, or Keras 3 with safe_mode=False)",
                )
                in_lambda = True
            todo.extend((value, in_lambda) for value in node.values())
            if isinstance(module, str) and isinstance(class_name, str):
                verdict, why = classify_global(module, class_name)
                if verdict == DANGEROUS:
                    full = f"{module}.{class_name}"
                    self.a.hit(
                        MF_DANGEROUS_IMPORT,
                        full,
                        f"{where}: Keras config makes the loader import {full}: {why}",
                    )

    # other formats

    def search(self, raw: IO[bytes], where: str, *, keras: bool, tf_ops: bool) -> None:
        patterns: list[tuple[str, re.Pattern[bytes]]] = []
        if keras:
            patterns.append(("Lambda", re.compile(rb'"class_name":\s*"(Lambda|__lambda__)"')))
        if tf_ops:
            patterns.append(("tf", re.compile(rb"\x12\x08ReadFile|\x12\x09WriteFile|\x12\x0dMatchingFiles")))
        found: dict[str, set[bytes]] = {}
        read = 0
        tail = b""
        while read < self.limits.max_search_bytes:
            chunk = raw.read(min(1 << 20, self.limits.max_search_bytes - read))
            if not chunk:
                break
            read += len(chunk)
            window = tail + chunk
            for key, pattern in patterns:
                found.setdefault(key, set()).update(m.group(0) for m in pattern.finditer(window))
            tail = window[-64:]
        else:
            if raw.read(1):
                self.a.note(f"{where}: searched the first {read} bytes only")
        if found.get("Lambda"):
            self.a.hit(
                MF_KERAS_LAMBDA,
                f"{where}:Lambda",
                f"{where}: Keras model config has a Lambda layer: Python bytecode that runs when the model is loaded",
            )
        ops = sorted({m[2:].decode() for m in found.get("tf", set())})
        if ops:
            self.a.hit(
                MF_TF_FILE_OPS,
                f"{where}:{','.join(ops)}",
                f"{where}: TensorFlow graph uses {', '.join(ops)}: running the model reads or writes files",
            )

    def gguf(self, raw: IO[bytes], size: int | None, where: str) -> None:
        try:
            templates = _gguf_templates(raw, size, self.limits)
        except _CutError as cut:
            self.a.unparseable(where, f"GGUF metadata: {cut}")
            return
        for key, text in templates:
            markers = _template_markers(text)
            if markers:
                self.a.hit(
                    MF_TEMPLATE_INJECTION,
                    f"{where}:{key}",
                    f"{where}: {key} has Jinja template-injection markers: {'; '.join(markers)}",
                    snippet=text[:_PREVIEW],
                )
        if not templates:
            self.a.note(f"{where}: GGUF without a chat template")

    def safetensors(self, raw: IO[bytes], size: int | None, where: str) -> None:
        problem = _safetensors_problem(raw, size, self.limits)
        if problem:
            self.a.unparseable(where, f"safetensors header: {problem}")
        else:
            self.a.note(f"{where}: tensors only, no code")


def _within(where: str, part: str) -> str:
    return f"{where}:{part}" if where else part


def _is_torch_storage(name: str) -> bool:
    # torch zips keep raw tensor bytes in "<archive>/data/<key>"; they are never unpickled.
    parts = name.split("/")
    return len(parts) >= 2 and parts[-2] == "data" and parts[-1].isdigit()


def _npy_header(reader: _Reader) -> bool:
    """Whether the ``.npy`` array holds Python objects (then a pickle follows the header)."""
    magic = reader.read(8)
    if len(magic) < 8 or not magic.startswith(formats.NPY_MAGIC):
        raise _CutError("no NumPy magic")
    major = magic[6]
    width = 2 if major == 1 else 4
    raw_length = reader.read(width)
    if len(raw_length) < width:
        raise _CutError("header length cut short")
    length = int.from_bytes(raw_length, "little")
    if length > 1 << 20:
        raise _CutError(f"header of {length} bytes")
    header = reader.read(length)
    try:
        meta = ast.literal_eval(header.decode("utf-8" if major >= 3 else "latin-1"))
    except (ValueError, SyntaxError, RecursionError, MemoryError, UnicodeDecodeError) as error:
        raise _CutError(f"header is not a Python literal ({error})") from error
    if not isinstance(meta, dict) or "descr" not in meta:
        raise _CutError("header without descr")
    return _descr_has_objects(meta["descr"])


def _descr_has_objects(descr: object) -> bool:
    if isinstance(descr, str):
        return descr.lstrip("<>|=")[:1] == "O"
    if isinstance(descr, list):
        return any(isinstance(f, tuple) and len(f) >= 2 and _descr_has_objects(f[1]) for f in descr)
    return True  # an unreadable descr is treated as the worst case


_GGUF_FIXED = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
_GGUF_STRING, _GGUF_ARRAY = 8, 9


def _gguf_templates(raw: IO[bytes], size: int | None, limits: Limits) -> list[tuple[str, str]]:
    """(key, text) of every ``tokenizer.chat_template*`` string in the GGUF metadata."""
    reader = _Reader(raw, size, limits.max_stream_bytes)

    def take(n: int) -> bytes:
        data = reader.read(n)
        if len(data) != n:
            raise _CutError("cut short")
        return data

    head = take(8)
    endian = "<"
    version = struct.unpack("<I", head[4:])[0]
    if version not in (1, 2, 3):
        endian = ">"
        version = struct.unpack(">I", head[4:])[0]
        if version not in (1, 2, 3):
            raise _CutError("unknown GGUF version")
    count = endian + ("I" if version == 1 else "Q")
    width = struct.calcsize(count)

    def number() -> int:
        return int(struct.unpack(count, take(width))[0])

    def string(keep: int) -> str | None:
        length = number()
        if length <= keep:
            return take(length).decode("utf-8", "replace")
        if reader.skip(length) != length:
            raise _CutError("string past the end of the file")
        return None

    def skip_value(kind: int, nesting: int) -> None:
        if kind in _GGUF_FIXED:
            take(_GGUF_FIXED[kind])
        elif kind == _GGUF_STRING:
            string(0)
        elif kind == _GGUF_ARRAY and nesting < 3:
            item_kind = struct.unpack(endian + "I", take(4))[0]
            items = number()
            if item_kind in _GGUF_FIXED:
                nbytes = items * _GGUF_FIXED[item_kind]
                if reader.skip(nbytes) != nbytes:
                    raise _CutError("array past the end of the file")
            else:
                for _ in range(items):
                    skip_value(item_kind, nesting + 1)
        else:
            raise _CutError(f"unknown value type {kind}")

    number()  # tensor count
    kv_count = number()
    if kv_count > limits.max_gguf_kv:
        raise _CutError(f"{kv_count} metadata entries")
    templates = []
    for _ in range(kv_count):
        key = string(1 << 16)
        if key is None:
            raise _CutError("metadata key over 64 KiB")
        kind = struct.unpack(endian + "I", take(4))[0]
        if key.startswith("tokenizer.chat_template") and kind == _GGUF_STRING:
            text = string(limits.max_template_bytes)
            if text is None:
                raise _CutError(f"{key} over {limits.max_template_bytes} bytes")
            templates.append((key, text))
        else:
            skip_value(kind, 0)
    return templates


_TEMPLATE_MARKERS = (
    ("dunder attribute", re.compile(r"__[A-Za-z]\w*__")),
    ("escaped underscore", re.compile(r"\\x5f|\\u005f|\\U0000005f|\\137", re.IGNORECASE)),
    ("attr filter with an underscore name", re.compile(r"\|\s*attr\s*\(\s*['\"][^'\"]*[_\\]")),
    ("underscores built from strings", re.compile(r"['\"]_+['\"]\s*\*\s*\d|['\"]__['\"]\s*[~+]")),
    ("Jinja global's internals", re.compile(r"\b(cycler|joiner|lipsum|namespace|range|dict)\s*(\.|\[)")),
    ("template internals", re.compile(r"\bself\s*\.\s*_|\bself\s*\[")),
    ("command or import call", re.compile(r"\.\s*(popen|system|spawn\w*|check_output|import_module|eval|exec)\s*\(")),
)


def _template_markers(text: str) -> list[str]:
    found = []
    for label, pattern in _TEMPLATE_MARKERS:
        match = pattern.search(text)
        if match:
            found.append(f"{label} {match.group(0)!r}")
    return found


def _safetensors_problem(raw: IO[bytes], size: int | None, limits: Limits) -> str | None:
    head = raw.read(8)
    if len(head) < 8:
        return "cut short"
    (length,) = struct.unpack("<Q", head)
    available = (size or 0) - 8
    if size is not None and length > available:
        return f"header length {length} past the end of the file"
    if length > min(limits.max_json_bytes, formats.SAFETENSORS_MAX_HEADER):
        return f"header of {length} bytes, over the cap"
    try:
        header = json.loads(raw.read(length))
    except (ValueError, RecursionError) as error:
        return f"not JSON ({error})"
    if not isinstance(header, dict):
        return "not a JSON object"
    data_bytes = available - length
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        offsets = entry.get("data_offsets") if isinstance(entry, dict) else None
        if not (
            isinstance(offsets, list)
            and len(offsets) == 2
            and all(isinstance(o, int) for o in offsets)
            and 0 <= offsets[0] <= offsets[1]
            and (size is None or offsets[1] <= data_bytes)
        ):
            return f"tensor {name!r} has bad data_offsets {offsets!r}"
    return None


# --- picklescan as a second opinion ----------------------------------------------------------------

_PICKLE_BEARING = formats.PICKLE_FAMILY | {formats.TORCH_ZIP, formats.TORCHSCRIPT, formats.NPZ, formats.ZIP}


def _picklescan_version() -> str | None:
    try:
        return importlib.metadata.version("picklescan")
    except importlib.metadata.PackageNotFoundError:
        return None


@contextmanager
def _quiet(logger_name: str) -> Iterator[None]:
    """picklescan logs each finding as a warning; ours are reported as findings instead."""
    logger = logging.getLogger(logger_name)
    disabled = logger.disabled
    logger.disabled = True
    try:
        yield
    finally:
        logger.disabled = disabled


def _picklescan_opinion(path: Path, fmt: str | None, size: int, limits: Limits) -> tuple[str, str] | None:
    version = _picklescan_version()
    if version is None or fmt is None or formats.split_codec(fmt)[1] not in _PICKLE_BEARING:
        return None
    engine = f"picklescan {version}"
    if size > limits.cross_check_max_bytes:
        return engine, f"not run (file over {limits.cross_check_max_bytes} bytes)"
    try:
        scanner = importlib.import_module("picklescan.scanner")  # untyped; read through getattr
        with _quiet("picklescan"):
            result = scanner.scan_file_path(str(path))
    except Exception as error:  # a second engine's failure must never fail our scan
        return engine, f"error: {type(error).__name__}: {error}"
    levels = scanner.SafetyLevel
    dangerous = sorted({f"{g.module}.{g.name}" for g in result.globals if g.safety == levels.Dangerous})
    suspicious = sorted({f"{g.module}.{g.name}" for g in result.globals if g.safety == levels.Suspicious})
    if dangerous:
        return engine, f"{DANGEROUS}: {', '.join(dangerous)}"
    if suspicious:
        return engine, f"{SUSPICIOUS}: {', '.join(suspicious)}"
    return engine, INCONCLUSIVE if result.scan_err else CLEAN


# --- the scanner -----------------------------------------------------------------------------------


class ModelFileScanner:
    """The ``modelfiles`` scanner: pickle-bearing and other model files, recognised by content."""

    name = SCANNER_NAME

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()

    def version(self) -> str:
        return ENGINE_VERSION

    def ruleset(self) -> str:
        text = repr(
            (
                sorted(RULES.items()),
                sorted(_SAFE_GLOBALS),
                sorted(_DANGEROUS_PREFIXES),
                sorted(_DANGEROUS_GLOBALS),
                sorted(_DANGEROUS_ATTRIBUTES),
                [(label, p.pattern) for label, p in _TEMPLATE_MARKERS],
                self.limits,
            )
        )
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def accepts(self, target: ScanTarget) -> bool:
        try:
            return formats.detect_format(target.path) is not None
        except OSError:
            return False

    def scan(self, targets: Sequence[ScanTarget]) -> ScanOutcome:
        outcome = ScanOutcome()
        for target in targets:
            result = self.verdict(target.path, display=target.display, cross_check=False)
            outcome.findings.extend(result.findings)
            if result.outcome == SKIPPED:
                outcome.skipped.append(Skipped(target.display, result.reasons[0]))
        return outcome

    def verdict(
        self, path: str | os.PathLike[str], *, display: str | None = None, cross_check: bool = True
    ) -> FileVerdict:
        """The verdict on one file. ``engines`` always names this engine and its version; with
        ``cross_check``, picklescan's opinion is added there (and to the reasons where it differs),
        never to the outcome or the findings."""
        path = Path(path)
        ours, size = self._verdict(path, display if display is not None else str(path))
        engines: tuple[tuple[str, str], ...] = ((f"ptmscope-{SCANNER_NAME} {ENGINE_VERSION}", ours.outcome),)
        opinion = _picklescan_opinion(path, ours.format, size, self.limits) if cross_check else None
        if opinion is None:
            return replace(ours, engines=engines)
        reasons = ours.reasons
        if opinion[1].split(":")[0] != ours.outcome:
            reasons = (*reasons, f"{opinion[0]} says {opinion[1]}")
        return replace(ours, reasons=reasons, engines=(*engines, opinion))

    def _verdict(self, path: Path, shown: str) -> tuple[FileVerdict, int]:
        try:
            info = path.stat()
            if not stat.S_ISREG(info.st_mode):
                return _skipped("not a regular file"), 0
            if info.st_size == 0:
                return _skipped("empty file"), 0
            if info.st_size > self.limits.max_file_bytes:
                return _skipped(f"{info.st_size} bytes, over the {self.limits.max_file_bytes}-byte cap"), 0
            fmt = formats.detect_format(path)
            if fmt is None:
                return _skipped("not a model file: no model format in its first bytes"), 0
            analysis = _Analysis(shown, self.limits)
            with open(path, "rb") as raw:
                _FileScan(analysis, self.limits).stream(fmt, raw, info.st_size)
        except OSError as error:
            return _skipped(f"unreadable: {error}"), 0
        return analysis.verdict(fmt), info.st_size


def _skipped(reason: str) -> FileVerdict:
    return FileVerdict(format=None, outcome=SKIPPED, reasons=(reason,), globals=())


def verdict(path: str | os.PathLike[str], limits: Limits | None = None, *, cross_check: bool = True) -> FileVerdict:
    """The outcome for one model file (issue 8's snapshot verdicts): format, clean / suspicious /
    dangerous / inconclusive / skipped, the reasons, and every global its pickles import."""
    return ModelFileScanner(limits).verdict(path, cross_check=cross_check)
