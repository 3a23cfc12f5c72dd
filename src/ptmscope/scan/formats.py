"""Which model-file format a file holds, told by its first bytes; the file name is only a hint.

Scanners that choose model files by extension miss pickles named ``.bin`` or with no extension at all
(``../shared/notes/scanners-offline.md`` §6), so ptmscope reads the first few KB instead. Nothing here
unpickles, imports or executes anything: pickles are recognised with :func:`pickletools.genops` and
:func:`pickletools.dis`, which only decode opcodes.

Format names (``detect_format`` returns one of them or None):

=================  ====================================================================================
``pickle``         a pickle stream: ``\\x80`` + protocol 2–5, or a protocol 0/1 stream that decodes cleanly
``joblib``         a pickle naming ``joblib.numpy_pickle`` (NumPy array bytes are written inside the stream)
``torch_legacy``   a pickle holding only torch's magic number: the legacy ``torch.save`` layout of 5 pickles
``torch_zip``      a zip with a ``*/data.pkl`` member (``torch.save`` since torch 1.6)
``torchscript``    a torch zip with ``constants.pkl`` or ``code/`` members (``torch.jit.save``)
``npy``            ``\\x93NUMPY``; an object dtype means a pickle follows the header
``npz``            a zip of ``.npy`` members
``keras``          a Keras v3 zip: ``config.json`` with ``model.weights.h5`` or ``metadata.json``
``hdf5``           the HDF5 signature (Keras 2 ``.h5`` files among them)
``gguf``           ``GGUF``
``safetensors``    an 8-byte little-endian header length that fits the file, then a JSON object
``onnx``           a protobuf starting like an ONNX ModelProto (``onnx?`` when only the name suggests it)
``tf_savedmodel``  a ``.pb`` starting like a SavedModel; ``tf_protobuf`` for other ``.pb`` graphs
``zip``            any other zip with members named like model files
``CODEC+INNER``    a pickle-family stream compressed with gzip, bz2, xz or zlib (what ``joblib.load``
                   and ``pandas.read_pickle`` decompress by themselves), e.g. ``gzip+joblib``
``lz4?``           an LZ4 frame named like a pickle or joblib file (joblib's lz4 option); the standard
                   library cannot decompress it, so its content stays unknown
=================  ====================================================================================
"""

from __future__ import annotations

import bz2
import io
import lzma
import os
import pickletools
import re
import stat
import struct
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import PurePosixPath
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

HEAD_BYTES = 8192

PICKLE = "pickle"
JOBLIB = "joblib"
TORCH_LEGACY = "torch_legacy"
TORCH_ZIP = "torch_zip"
TORCHSCRIPT = "torchscript"
NPY = "npy"
NPZ = "npz"
KERAS = "keras"
HDF5 = "hdf5"
GGUF = "gguf"
SAFETENSORS = "safetensors"
ONNX = "onnx"
ONNX_MAYBE = "onnx?"
TF_SAVEDMODEL = "tf_savedmodel"
TF_PROTOBUF = "tf_protobuf"
ZIP = "zip"
LZ4_MAYBE = "lz4?"

# Formats whose content is (or may contain) pickle streams; only these are worth decompressing.
PICKLE_FAMILY = frozenset({PICKLE, JOBLIB, TORCH_LEGACY, NPY})
ZIP_FORMATS = frozenset({TORCH_ZIP, TORCHSCRIPT, NPZ, KERAS, ZIP})
CODECS = ("gzip", "bz2", "xz", "zlib")

TORCH_MAGIC = 0x1950A86A20F9469CFC6C  # torch/serialization.py MAGIC_NUMBER
NPY_MAGIC = b"\x93NUMPY"
HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
ZIP_MAGIC = b"PK\x03\x04"
SAFETENSORS_MAX_HEADER = 100_000_000  # the safetensors format's own limit

# An HDF5 superblock may sit after a user block of 512, 1024, 2048, ... bytes.
_HDF5_OFFSETS = (0, 512, 1024, 2048, 4096)
# fmt: off
_MODEL_SUFFIXES = frozenset({
    ".pkl", ".pickle", ".pt", ".pth", ".bin", ".ckpt", ".joblib", ".npy", ".npz", ".h5", ".hdf5", ".keras", ".gguf",
    ".safetensors", ".onnx", ".pb", ".sav", ".dill", ".model", ".mar",
})
# fmt: on
_PICKLE_SUFFIXES = frozenset({".pkl", ".pickle", ".joblib"})
# Opcodes a protocol 0/1 pickle can start with: MARK, containers, scalars, GLOBAL.
_PROTO01_FIRST = frozenset(b"(}])NIJKLMFGSTUVXc")
# genops errors that only mean "the head ended inside the pickle", not "this is no pickle".
_TRUNCATION = ("pickle exhausted", "but only", "no newline found", "not enough data")
_MIN_OPS_IN_TRUNCATED_HEAD = 8
_GLOBAL_ARG = re.compile(r"[A-Za-z_][\w.]* [A-Za-z_][\w.]*")
# ONNX ModelProto fields that may follow ir_version: producer_name, producer_version, domain,
# model_version, doc_string, graph, opset_import.
_ONNX_NEXT_TAGS = frozenset({0x12, 0x1A, 0x22, 0x28, 0x32, 0x3A, 0x42})


def detect_format(path: str | os.PathLike[str]) -> str | None:
    """The model-file format of the file at ``path``, or None when it holds no model format we know.

    Reads at most a few KB (plus a zip's central directory); raises OSError when the file cannot be read.
    Only regular files are opened: a FIFO would block.
    """
    if not stat.S_ISREG(os.stat(path).st_mode):
        return None
    with open(path, "rb") as f:
        return sniff(f, os.fspath(path))


def sniff(stream: IO[bytes], name: str = "", size: int | None = None) -> str | None:
    """The format of a seekable binary stream read from its current position, which is restored.

    Give ``size`` (bytes from the current position) when seeking to the end is costly, as in a
    compressed zip member.
    """
    start = stream.tell()
    try:
        if size is None:
            size = stream.seek(0, io.SEEK_END) - start
            stream.seek(start)
        head = stream.read(HEAD_BYTES)
        if head.startswith(ZIP_MAGIC):
            stream.seek(start)
            return _sniff_zip(stream, head)
        found = sniff_head(head, complete=len(head) >= size, name=name) or _sniff_sized(head, size)
        if found is None and PurePosixPath(name).suffix.lower() == ".onnx":
            return ONNX_MAYBE
        return found
    finally:
        stream.seek(start)


def sniff_head(head: bytes, *, complete: bool, name: str = "") -> str | None:
    """The format told by the head bytes alone (``complete``: the head is the whole stream).

    Zip-based formats and those that need the stream size (safetensors) are not told here.
    """
    if head.startswith(b"\x80") and len(head) > 1 and head[1] <= 5:
        return _pickle_kind(head)
    if head.startswith(NPY_MAGIC):
        return NPY
    if head.startswith(b"GGUF"):
        return GGUF
    if any(head[offset : offset + 8] == HDF5_MAGIC for offset in _HDF5_OFFSETS):
        return HDF5
    if head.startswith(b"\x04\x22\x4d\x18") and _PICKLE_SUFFIXES & set(PurePosixPath(name.lower()).suffixes):
        return LZ4_MAYBE
    codec = _codec(head)
    if codec is not None:
        inner = _inflate_head(codec, head)
        found = sniff_head(inner, complete=False) if inner else None
        return f"{codec}+{found}" if found in PICKLE_FAMILY else None
    if head[:1] and head[0] in _PROTO01_FIRST and _is_proto01_pickle(head, complete=complete):
        return _pickle_kind(head)
    return _sniff_protobuf(head, name)


def split_codec(fmt: str) -> tuple[str | None, str]:
    """``("gzip", "joblib")`` from ``"gzip+joblib"``; ``(None, fmt)`` for uncompressed formats."""
    codec, plus, inner = fmt.partition("+")
    return (codec, inner) if plus else (None, fmt)


def zip_kind(names: Sequence[str]) -> str | None:
    """The model format of a zip archive from its member names, or None for a zip of other files."""
    has_data = any(n == "data.pkl" or n.endswith("/data.pkl") for n in names)
    if has_data and any(n.endswith("constants.pkl") or "/code/" in n for n in names):
        return TORCHSCRIPT
    if has_data:
        return TORCH_ZIP
    if "config.json" in names and ("model.weights.h5" in names or "metadata.json" in names):
        return KERAS
    if names and all(n.endswith(".npy") for n in names):
        return NPZ
    if any(PurePosixPath(n).suffix.lower() in _MODEL_SUFFIXES for n in names):
        return ZIP
    return None


def open_decompressed(codec: str, raw: IO[bytes]) -> IO[bytes]:
    """A streaming reader of ``raw`` decompressed with ``codec`` (memory stays bounded)."""
    if codec not in CODECS:
        raise ValueError(f"unknown codec {codec!r}")
    return io.BufferedReader(_Inflater(raw, codec))


def torch_legacy_magic(head: bytes) -> bool:
    """Whether the first pickle in ``head`` holds nothing but torch's magic number."""
    ints: list[int] = []
    try:
        for op, arg, _ in pickletools.genops(head):
            if op.name in ("PROTO", "STOP"):
                continue
            if isinstance(arg, int) and ("INT" in op.name or "LONG" in op.name):
                ints.append(arg)
            else:
                return False
    except ValueError:
        return False
    return ints == [TORCH_MAGIC]


def _pickle_kind(head: bytes) -> str:
    if torch_legacy_magic(head):
        return TORCH_LEGACY
    if b"joblib.numpy_pickle" in head:
        return JOBLIB
    return PICKLE


def _is_proto01_pickle(head: bytes, *, complete: bool, depth: int = 0) -> bool:
    """Whether ``head`` decodes as protocol 0/1 pickles, with stack and memo use that adds up.

    Text easily decodes as a few opcodes ("G" + 8 bytes + "." is a float), so a pickle must also pass
    :func:`pickletools.dis`'s stack and memo checks, name globals with identifiers, and end where the
    file ends or another pickle starts; a head cut inside a longer stream must decode for a while first.
    """
    count, end = 0, 0
    try:
        for op, arg, pos in pickletools.genops(head):
            count += 1
            if op.name in ("GLOBAL", "INST") and not _GLOBAL_ARG.fullmatch(str(arg)):
                return False
            end = (pos or 0) + 1
    except ValueError as error:
        if complete or count < _MIN_OPS_IN_TRUNCATED_HEAD or not any(t in str(error) for t in _TRUNCATION):
            return False
        return _dis_ok(head, truncated=True)
    if count < 2 or not _dis_ok(head[:end], truncated=False):
        return False
    rest = head[end:]
    if not rest:
        return True
    if rest[0] == 0x80:
        return len(rest) > 1 and rest[1] <= 5
    return depth < 3 and rest[0] in _PROTO01_FIRST and _is_proto01_pickle(rest, complete=complete, depth=depth + 1)


def _dis_ok(data: bytes, *, truncated: bool) -> bool:
    try:
        pickletools.dis(data, out=io.StringIO())
    except ValueError as error:
        return truncated and any(t in str(error) for t in _TRUNCATION)
    except (KeyError, IndexError, TypeError, UnicodeDecodeError, struct.error):
        return False
    return True


def _codec(head: bytes) -> str | None:
    if head.startswith(b"\x1f\x8b\x08"):
        return "gzip"
    if head.startswith(b"BZh") and head[4:10] == b"1AY&SY":
        return "bz2"
    if head.startswith(b"\xfd7zXZ\x00"):
        return "xz"
    if len(head) >= 2:
        cmf, flg = head[0], head[1]
        if cmf == 0x78 and (cmf * 256 + flg) % 31 == 0 and not flg & 0x20:
            return "zlib"
    return None


def _inflate_head(codec: str, head: bytes) -> bytes:
    try:
        if codec in ("gzip", "zlib"):
            return zlib.decompressobj(wbits=31 if codec == "gzip" else 15).decompress(head, HEAD_BYTES)
        if codec == "bz2":
            return bz2.BZ2Decompressor().decompress(head, HEAD_BYTES)
        return lzma.LZMADecompressor().decompress(head, HEAD_BYTES)
    except (zlib.error, OSError, EOFError, lzma.LZMAError):
        return b""


def _sniff_protobuf(head: bytes, name: str) -> str | None:
    suffix = PurePosixPath(name).suffix.lower()
    if suffix == ".pb":
        if head.startswith(b"\x08\x01\x12"):
            return TF_SAVEDMODEL
        return TF_PROTOBUF if head[:1] == b"\x0a" else None
    onnx_like = len(head) >= 3 and head[0] == 0x08 and 3 <= head[1] <= 20 and head[2] in _ONNX_NEXT_TAGS
    return ONNX if onnx_like and _printable_field(head, 2) else None


def _printable_field(head: bytes, at: int) -> bool:
    """Whether the length-delimited field at ``at`` (if it is one) holds printable text."""
    if head[at] not in (0x12, 0x1A, 0x22, 0x32):
        return True
    length = head[at + 1] if len(head) > at + 1 else 0
    text = head[at + 2 : at + 2 + length]
    return length < 0x80 and len(text) == length and all(32 <= c < 127 for c in text)


def _sniff_sized(head: bytes, size: int) -> str | None:
    if len(head) >= 10 and head[8:9] == b"{" and head[9:10] in b'"} \t\r\n':
        (length,) = struct.unpack_from("<Q", head)
        if 2 <= length <= min(SAFETENSORS_MAX_HEADER, size - 8):
            return SAFETENSORS
    return None


def _sniff_zip(stream: IO[bytes], head: bytes) -> str | None:
    try:
        with zipfile.ZipFile(stream) as archive:
            return zip_kind(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError):
        # A cut or damaged zip still names its first member in the first local header.
        (name_length,) = struct.unpack_from("<H", head, 26) if len(head) >= 30 else (0,)
        first = head[30 : 30 + name_length].decode("utf-8", "replace")
        return TORCH_ZIP if first.endswith("data.pkl") else None


class _Inflater(io.RawIOBase):
    """A raw reader that decompresses ``raw`` chunk by chunk, asking for no more output than the caller's
    buffer holds, so that a small compressed file that inflates hugely cannot fill memory."""

    _CHUNK = 1 << 16

    def __init__(self, raw: IO[bytes], codec: str) -> None:
        self._raw = raw
        self._zlib: zlib._Decompress | None = None
        self._other: bz2.BZ2Decompressor | lzma.LZMADecompressor | None = None
        if codec in ("gzip", "zlib"):
            self._zlib = zlib.decompressobj(wbits=31 if codec == "gzip" else 15)
        else:
            self._other = bz2.BZ2Decompressor() if codec == "bz2" else lzma.LZMADecompressor()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        view = memoryview(buffer).cast("B")
        while True:
            data = self._next(len(view))
            if data is None:
                return 0
            if data:
                view[: len(data)] = data
                return len(data)

    def _next(self, want: int) -> bytes | None:
        """Up to ``want`` decompressed bytes; b"" when more input is needed, None at the end."""
        if self._zlib is not None:
            d = self._zlib
            if d.eof:
                return None
            tail = d.unconsumed_tail or self._raw.read(self._CHUNK)
            return d.decompress(tail, want) if tail else None
        assert self._other is not None
        other = self._other
        if other.eof:
            return None
        if other.needs_input:
            chunk = self._raw.read(self._CHUNK)
            return other.decompress(chunk, want) if chunk else None
        return other.decompress(b"", want)
