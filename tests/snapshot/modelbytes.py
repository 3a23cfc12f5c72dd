"""Real model files written byte by byte for the snapshot tests: pickles (benign, and malicious ones built
from pickle opcodes), torch.save's zip and legacy layouts, NumPy arrays, HDF5, GGUF and safetensors, and
the test model repositories that hold them. Nothing here is ever loaded or unpickled."""

from __future__ import annotations

import io
import json
import struct
import zipfile
from dataclasses import dataclass, field
from typing import Any

TORCH_MAGIC = 0x1950A86A20F9469CFC6C


# --- pickle opcodes -----------------------------------------------------------------------------------------


def unicode(text: str) -> bytes:
    data = text.encode()
    return b"X" + struct.pack("<I", len(data)) + data  # BINUNICODE


def global_(module: str, name: str) -> bytes:
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"  # GLOBAL


def call_pickle(module: str, name: str, arg: str, protocol: int = 2) -> bytes:
    """``module.name(arg)`` when unpickled: PROTO, GLOBAL, the argument, TUPLE1, REDUCE, STOP."""
    return b"\x80" + bytes([protocol]) + global_(module, name) + unicode(arg) + b"\x85R."


def long1(value: int) -> bytes:
    data = value.to_bytes((value.bit_length() + 8) // 8, "little", signed=True)
    return b"\x8a" + bytes([len(data)]) + data  # LONG1


def small_pickle(body: bytes) -> bytes:
    return b"\x80\x02" + body + b"."


def benign_pickle() -> bytes:
    """{"lr": 0.001, "layers": [2, 2]}: plain containers only."""
    return (b"\x80\x02}q\x00(" + unicode("lr") + b"G" + struct.pack(">d", 0.001)
            + unicode("layers") + b"]q\x01(K\x02K\x02eu.")


def class_pickle() -> bytes:
    """A whole-model pickle: an instance of a class from the author's own module (unknown, not dangerous)."""
    return b"\x80\x02" + global_("my_project.models", "TinyNet") + b")\x81}q\x00" + unicode("depth") + b"K\x03sb."


def state_dict_pickle() -> bytes:
    """data.pkl of torch.save({"weight": 2x2 float tensor}): OrderedDict, _rebuild_tensor_v2, a persistent id."""
    storage = (b"(" + unicode("storage") + global_("torch", "FloatStorage") + unicode("0") + unicode("cpu")
               + b"K\x04tQ")  # MARK ... TUPLE, BINPERSID
    tensor = (global_("torch._utils", "_rebuild_tensor_v2") + b"(" + storage + b"K\x00K\x02K\x02\x86K\x02K\x01\x86"
              + b"\x89" + global_("collections", "OrderedDict") + b")RtR")
    return b"\x80\x02" + global_("collections", "OrderedDict") + b")R" + unicode("weight") + tensor + b"s."


def torch_zip(data_pkl: bytes) -> bytes:
    """torch.save's zip layout (since torch 1.6): archive/data.pkl, storages under archive/data/."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in (("archive/data.pkl", data_pkl), ("archive/byteorder", b"little"),
                           ("archive/data/0", struct.pack("<4f", 1, 2, 3, 4)), ("archive/version", b"3\n"),
                           ("archive/.data/serialization_id", b"1234567890123456789012345678901234567890")):
            archive.writestr(name, data)
    return out.getvalue()


def legacy_torch(data_pkl: bytes) -> bytes:
    """torch.save(..., _use_new_zipfile_serialization=False): magic, protocol, sys info, data, storage keys,
    then the raw storage bytes."""
    sys_info = (b"}(" + unicode("protocol_version") + b"M\xe9\x03" + unicode("little_endian") + b"\x88"
                + unicode("type_sizes") + b"}(" + unicode("short") + b"K\x02" + unicode("int") + b"K\x04u" + b"u")
    return (small_pickle(long1(TORCH_MAGIC)) + small_pickle(b"M\xe9\x03") + small_pickle(sys_info) + data_pkl
            + small_pickle(b"]" + unicode("0") + b"a") + struct.pack("<q", 4) + struct.pack("<4f", 1, 2, 3, 4))


def npy(descr: str, body: bytes, shape: str = "(2,)") -> bytes:
    header = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}"
    header += " " * (63 - (10 + len(header)) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + body


def hdf5() -> bytes:
    """An HDF5 superblock (version 0) followed by empty space: what the signature check reads."""
    return b"\x89HDF\r\n\x1a\n" + b"\x00\x00\x00\x00\x00\x08\x08\x00" + b"\x00" * 240


def gguf(template: str) -> bytes:
    def text(value: str) -> bytes:
        data = value.encode()
        return struct.pack("<Q", len(data)) + data

    kvs = [text("general.architecture") + struct.pack("<I", 8) + text("llama"),
           text("general.alignment") + struct.pack("<II", 4, 32),
           text("tokenizer.chat_template") + struct.pack("<I", 8) + text(template)]
    return b"GGUF" + struct.pack("<IQQ", 3, 0, len(kvs)) + b"".join(kvs)


def safetensors(pad_to: int = 0) -> bytes:
    header = json.dumps({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                         "__metadata__": {"format": "pt"}}).encode()
    header += b" " * (-len(header) % 8)
    body = struct.pack("<2f", 1, 2)
    data = struct.pack("<Q", len(header)) + header + body
    return data + b"\x00" * max(0, pad_to - len(data))


BENIGN_TEMPLATE = "{% for message in messages %}{{ message['role'] }}: {{ message['content'] }}\n{% endfor %}"
EVIL_TEMPLATE = "{{ cycler.__init__.__globals__.os.popen('id').read() }}"

CUSTOM_MODELING = '''"""Custom modeling code shipped with the model (never run by the tests)."""
import subprocess


class TinyModel:
    def __init__(self, config):
        self.config = config

    def warmup(self, command):
        return subprocess.call(command, shell=True)
'''
PLAIN_CODE = '''def double(x):
    return 2 * x
'''


# --- the test repositories ---------------------------------------------------------------------------------


@dataclass
class ModelRepo:
    model_id: str
    downloads: int
    files: dict[str, bytes]
    expected: dict[str, str | None]  # path -> modelfiles outcome (None: not downloaded)
    config: dict[str, Any] | None = None
    security: dict[str, dict[str, Any]] = field(default_factory=dict)

    def record(self, sha: str) -> dict[str, Any]:
        author = self.model_id.split("/", 1)[0]
        record: dict[str, Any] = {"_id": f"id-{self.model_id}", "id": self.model_id, "modelId": self.model_id,
                                  "author": author, "sha": sha, "downloads": self.downloads, "likes": 1,
                                  "lastModified": "2025-01-02T03:04:05.000Z", "createdAt": "2024-01-01T00:00:00.000Z",
                                  "private": False, "tags": [], "library_name": "transformers"}
        if self.config is not None:
            record["config"] = self.config
        return record


def hub_scan(status: str, imports: list[tuple[str, str, str]] | None = None) -> dict[str, Any]:
    """A ``securityFileStatus`` as the Hub reports it."""
    pickle_scan: dict[str, Any] = {"status": status if imports is not None else "unscanned"}
    if imports is not None:
        pickle_scan["pickleImports"] = [{"module": m, "name": n, "safety": s} for m, n, s in imports]
        pickle_scan["version"] = "0.0.32"
    return {"status": status, "avScan": {"status": "safe"}, "pickleImportScan": pickle_scan}


CAP = 4096  # the size cap the tests snapshot with


def model_repos() -> list[ModelRepo]:
    malicious = call_pickle("os", "system", "echo pwned")
    truncated = benign_pickle()[:-6]
    return [
        ModelRepo("acme/pickles", 5000, {
            "benign.pkl": benign_pickle(),
            "malicious.bin": malicious,  # a raw pickle named like weights
            "weights": call_pickle("builtins", "eval", "1+1", protocol=4),  # no extension: LFS by its bytes
            "whole_model.pkl": class_pickle(),
            "truncated.pkl": truncated,
            "big.safetensors": safetensors(pad_to=CAP + 1),  # over the cap
            "notes.txt": b"not taken by the allow list\n",
            "config.json": json.dumps({"model_type": "tiny"}).encode(),
        }, {"benign.pkl": "clean", "malicious.bin": "dangerous", "weights": "dangerous",
            "whole_model.pkl": "suspicious", "truncated.pkl": "inconclusive", "big.safetensors": None,
            "notes.txt": None, "config.json": "skipped"},
            security={"malicious.bin": hub_scan("unsafe", [("os", "system", "dangerous")]),
                      "benign.pkl": hub_scan("safe", [])}),
        ModelRepo("acme/torch", 3000, {
            "pytorch_model.bin": torch_zip(state_dict_pickle()),
            "evil_model.pt": torch_zip(call_pickle("posix", "system", "id")),
            "legacy.bin": legacy_torch(state_dict_pickle()),
            "legacy_evil.pth": legacy_torch(call_pickle("subprocess", "check_output", "id")),
        }, {"pytorch_model.bin": "clean", "evil_model.pt": "dangerous", "legacy.bin": "clean",
            "legacy_evil.pth": "dangerous"}),
        ModelRepo("acme/arrays", 800, {
            "floats.npy": npy("<f4", struct.pack("<2f", 1, 2)),
            "objects.npy": npy("|O", call_pickle("os", "system", "id"), shape="(1,)"),
            "model.h5": hdf5(),
            "model.gguf": gguf(BENIGN_TEMPLATE),
            "evil.gguf": gguf(EVIL_TEMPLATE),
            "model.safetensors": safetensors(),
        }, {"floats.npy": "clean", "objects.npy": "dangerous", "model.h5": "clean", "model.gguf": "clean",
            "evil.gguf": "dangerous", "model.safetensors": "clean"}),
        ModelRepo("acme/custom", 600, {
            "config.json": json.dumps({"model_type": "tiny", "auto_map": {
                "AutoModel": "modeling_tiny.TinyModel"}}).encode(),
            "modeling_tiny.py": CUSTOM_MODELING.encode(),
            "model.safetensors": safetensors(),
        }, {"config.json": "skipped", "modeling_tiny.py": "skipped", "model.safetensors": "clean"},
            config={"model_type": "tiny", "auto_map": {"AutoModel": "modeling_tiny.TinyModel"}}),
        ModelRepo("acme/helpers", 300, {
            "helpers.py": PLAIN_CODE.encode(),
            "model.safetensors": safetensors(),
        }, {"helpers.py": "skipped", "model.safetensors": "clean"}),
        ModelRepo("acme/unpopular", 10, {"model.pkl": malicious}, {"model.pkl": None}),
    ]
