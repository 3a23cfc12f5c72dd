"""Model-file scanning on files built here as raw bytes: malicious ones are written, never loaded.

The payloads are ``pickle.dumps`` of harmless stand-ins whose ``__reduce__`` names ``os.system`` and
friends with a command that would create a marker file; every test checks the marker never appears.
"""

from __future__ import annotations

import bz2
import gzip
import importlib
import io
import json
import os
import pickle
import pickletools
import pydoc
import struct
import warnings
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ptmscope.scan.formats import TORCH_MAGIC, detect_format
from ptmscope.scan.interface import ScanTarget
from ptmscope.scan.modelfiles import (
    RULES,
    FileVerdict,
    Limits,
    ModelFileScanner,
    classify_global,
    verdict,
)

MF001, MF002, MF003, MF004, MF005, MF006 = (f"PTM-MF-00{i}" for i in range(1, 7))


class Payload:
    """Pickles as a call of ``func(*args)``; pickling only records the names, it calls nothing."""

    def __init__(self, func: Callable[..., object], *args: object) -> None:
        self.func, self.args = func, args

    def __reduce__(self) -> tuple[Callable[..., object], tuple[object, ...]]:
        return self.func, self.args


@pytest.fixture(autouse=True)
def marker(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "PWNED"
    yield path
    assert not path.exists(), "a model file was executed"


@pytest.fixture
def system(marker: Path) -> Payload:
    return Payload(os.system, f"touch {marker}")


def rules(v: FileVerdict) -> set[str]:
    return {f.rule_id for f in v.findings}


def check(path: Path, outcome: str, rule_ids: set[str], fmt: str | None = None) -> FileVerdict:
    v = verdict(path, cross_check=False)
    assert (v.outcome, rules(v)) == (outcome, rule_ids), v.reasons
    if fmt is not None:
        assert v.format == fmt
    return v


# --- hand-assembled pickle opcodes ------------------------------------------------------------------


def ustr(text: str) -> bytes:
    data = text.encode()
    return b"\x8c" + bytes([len(data)]) + data  # SHORT_BINUNICODE


def stack_global_call(module: str, name: str, arg: str) -> bytes:
    """Protocol 4: ``module.name(arg)`` through STACK_GLOBAL, with the module string read back from the memo."""
    return (
        b"\x80\x04" + ustr(module) + b"\x94" + b"0"  # push, MEMOIZE as 0, POP
        + b"h\x00" + ustr(name) + b"\x93"  # BINGET 0, name, STACK_GLOBAL
        + ustr(arg) + b"\x85R."  # TUPLE1, REDUCE, STOP
    )  # fmt: skip


def torch_state_dict_pickle() -> bytes:
    """What torch.save writes as data.pkl for {"weight": a 2x2 float tensor}: globals and a persistent id."""
    return (
        b"\x80\x02ccollections\nOrderedDict\nq\x00)Rq\x01"
        b"X\x06\x00\x00\x00weightq\x02ctorch._utils\n_rebuild_tensor_v2\nq\x03("
        b"(X\x07\x00\x00\x00storageq\x04ctorch\nFloatStorage\nq\x05X\x01\x00\x00\x000q\x06"
        b"X\x03\x00\x00\x00cpuq\x07K\x04tq\x08Q"
        b"K\x00K\x02K\x02\x86q\tK\x02K\x01\x86q\n\x89h\x00)Rq\x0btq\x0cRq\rs."
    )


def joblib_stream(tail: bytes = b"", array: bytes = b"\xff" * 24, descr: str = "f8", aligned: bool = True) -> bytes:
    """joblib.dump({"w": array}) as joblib writes it: the array bytes (by default 0xff, which no pickle
    opcode is) follow the wrapper's BUILD inside the stream, after a padding length byte and padding
    since joblib 1.2 (``aligned``); ``tail`` adds dict items after the array."""
    dtype = (
        ustr("numpy") + ustr("dtype") + b"\x93" + ustr(descr) + b"\x89\x88\x87R"
        + b"(K\x03" + ustr("<") + b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb"
    )  # fmt: skip
    count = len(array) // int(descr[1:])
    state = (
        b"}(" + ustr("subclass") + ustr("numpy") + ustr("ndarray") + b"\x93"
        + ustr("shape") + b"J" + struct.pack("<i", count) + b"\x85" + ustr("order") + ustr("C")
        + ustr("dtype") + dtype + ustr("allow_mmap") + b"\x88"
        + (ustr("numpy_array_alignment_bytes") + b"K\x10" if aligned else b"") + b"u"
    )  # fmt: skip
    head = b"\x80\x04}" + ustr("w") + ustr("joblib.numpy_pickle") + ustr("NumpyArrayWrapper") + b"\x93)\x81" + state
    head += b"b"  # BUILD: the array follows
    if aligned:
        padding = 16 - (len(head) + 1) % 16
        head += bytes([padding]) + b"\xff" * padding
    return head + array + b"s" + tail + b"."


def npy(descr: str, body: bytes, shape: str = "(1,)") -> bytes:
    header = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}"
    header += " " * (63 - (10 + len(header)) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + body


def gguf(template: str | None) -> bytes:
    def gstr(text: str) -> bytes:
        data = text.encode()
        return struct.pack("<Q", len(data)) + data

    kvs = [
        gstr("general.architecture") + struct.pack("<I", 8) + gstr("llama"),
        gstr("general.alignment") + struct.pack("<II", 4, 32),
        gstr("tokenizer.ggml.tokens") + struct.pack("<IIQ", 9, 8, 3) + gstr("<s>") + gstr("</s>") + gstr("hi"),
        gstr("tokenizer.ggml.scores") + struct.pack("<IIQ", 9, 6, 3) + struct.pack("<3f", 0, 0, 0),
    ]
    if template is not None:
        kvs.append(gstr("tokenizer.chat_template") + struct.pack("<I", 8) + gstr(template))
    return b"GGUF" + struct.pack("<IQQ", 3, 0, len(kvs)) + b"".join(kvs)


def safetensors(offsets: tuple[int, int] = (0, 16)) -> bytes:
    header = json.dumps(
        {"w": {"dtype": "F32", "shape": [2, 2], "data_offsets": list(offsets)}, "__metadata__": {"format": "pt"}}
    ).encode()
    header += b" " * (-len(header) % 8)
    return struct.pack("<Q", len(header)) + header + b"\x00" * 16


def write_zip(path: Path, members: dict[str, bytes] | list[tuple[str, bytes]]) -> Path:
    items = members.items() if isinstance(members, dict) else members
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicate names are the point of one test
        with zipfile.ZipFile(path, "w") as archive:
            for name, data in items:
                archive.writestr(name, data)
    return path


def torch_zip(path: Path, data_pkl: bytes) -> Path:
    return write_zip(
        path,
        {"archive/data.pkl": data_pkl, "archive/byteorder": b"little", "archive/data/0": b"\x80\x05" + b"\x00" * 14,
         "archive/version": b"3\n", "archive/.data/serialization_id": b"0123456789"},
    )  # fmt: skip


def legacy_torch(data: bytes) -> bytes:
    """torch.save(..., _use_new_zipfile_serialization=False): five pickles, then raw storage bytes."""
    return (
        pickle.dumps(TORCH_MAGIC, protocol=2)
        + pickle.dumps(1001, protocol=2)
        + pickle.dumps({"protocol_version": 1001, "little_endian": True, "type_sizes": {"int": 4}}, protocol=2)
        + data
        + pickle.dumps(["0"], protocol=2)
        + struct.pack("<q", 4) + b"cposix\nsystem\n" + b"\xff" * 2  # storage bytes that look like opcodes
    )  # fmt: skip


def keras_zip(path: Path, layers: list[dict[str, object]]) -> Path:
    config = {"module": "keras", "class_name": "Sequential", "config": {"name": "seq", "layers": layers}}
    return write_zip(
        path,
        {"metadata.json": b'{"keras_version": "3.4.1"}', "config.json": json.dumps(config).encode(),
         "model.weights.h5": b"\x89HDF\r\n\x1a\n" + b"\x00" * 64},
    )  # fmt: skip


DENSE = {"module": "keras.layers", "class_name": "Dense", "config": {"name": "dense", "units": 2}}
LAMBDA = {
    "module": "keras.layers",
    "class_name": "Lambda",
    "config": {"name": "sneaky", "function": {"class_name": "__lambda__", "config": {"code": "4wEAAAAAAAAA"}}},
}
BENIGN_TEMPLATE = (
    "{% set ns = namespace(system=false) %}{% for message in messages %}"
    "{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + message['content'] | trim }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant' }}{% endif %}"
)


# --- pickles --------------------------------------------------------------------------------------


def test_the_torch_state_dict_fixture_is_a_wellformed_pickle() -> None:
    pickletools.dis(torch_state_dict_pickle(), out=io.StringIO())  # decodes only; raises if malformed


@pytest.mark.parametrize("protocol", [0, 1, 2, 3, 4, 5])
def test_benign_pickles_are_clean(tmp_path: Path, protocol: int) -> None:
    path = tmp_path / "benign.pkl"
    path.write_bytes(pickle.dumps({"a": [1, 2.5, "x", b"y" * 100_000], "b": {1, 2}, "c": (None, True)}, protocol))
    check(path, "clean", set(), "pickle")


@pytest.mark.parametrize("protocol", [0, 2, 4, 5])
def test_os_system_payload_is_dangerous_in_every_protocol(tmp_path: Path, system: Payload, protocol: int) -> None:
    path = tmp_path / f"model_p{protocol}.pkl"
    path.write_bytes(pickle.dumps({"weights": [1, 2], "x": system}, protocol=protocol))
    v = check(path, "dangerous", {MF001}, "pickle")
    assert v.globals == (f"{os.name}.system",)  # posix.system here; nt.system on Windows
    (finding,) = v.findings
    assert f"{os.name}.system" in finding.message and "touch" in finding.message
    assert (finding.severity, finding.vuln_type, finding.category, finding.cwe) == (
        "critical", "remote_code_execution", "ai_specific", "CWE-502",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("payload", "name"),
    [
        (Payload(eval, "__import__('os').system('id')"), "builtins.eval"),
        (Payload(importlib.import_module, "os"), "importlib.import_module"),
        (Payload(pydoc.locate, "os.system"), "pydoc.locate"),
        (Payload(getattr, Payload(importlib.import_module, "os"), "system"), "builtins.getattr"),
    ],
)
def test_blocklist_bypasses_are_dangerous(tmp_path: Path, payload: Payload, name: str) -> None:
    path = tmp_path / "bypass.pkl"
    path.write_bytes(pickle.dumps(payload, protocol=4))
    v = check(path, "dangerous", {MF001})
    assert name in v.globals


def test_numpy_runstring_through_memoised_stack_global_is_dangerous(tmp_path: Path, marker: Path) -> None:
    path = tmp_path / "np_runstring.pkl"
    path.write_bytes(stack_global_call("numpy.testing._private.utils", "runstring", f"open('{marker}','w')"))
    v = check(path, "dangerous", {MF001})
    assert v.globals == ("numpy.testing._private.utils.runstring",)


def test_stack_global_with_a_computed_module_is_dangerous(tmp_path: Path) -> None:
    # _codecs.encode is allowlisted (protocol 2 writes bytes with it) but "bf" in rot13 is "os".
    path = tmp_path / "rot13.pkl"
    rot13 = ustr("_codecs") + ustr("encode") + b"\x93" + ustr("bf") + ustr("rot13") + b"\x86R"
    path.write_bytes(b"\x80\x04" + rot13 + ustr("system") + b"\x93" + ustr("id") + b"\x85R.")
    v = check(path, "dangerous", {MF001})
    assert "computed at load time" in v.findings[0].message and "_codecs.encode" in v.findings[0].message


@pytest.mark.parametrize("name", ["model.bin", "weights"])
def test_raw_pickles_are_found_whatever_their_name(tmp_path: Path, system: Payload, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(pickle.dumps(system, protocol=2))
    check(path, "dangerous", {MF001}, "pickle")


def test_unknown_global_is_suspicious(tmp_path: Path) -> None:
    path = tmp_path / "custom.pkl"
    path.write_bytes(stack_global_call("mypkg.models", "MyNet", "cfg"))
    v = check(path, "suspicious", {MF002})
    assert v.findings[0].severity == "medium" and "mypkg.models.MyNet" in v.findings[0].message


def test_truncated_pickle_is_inconclusive(tmp_path: Path) -> None:
    path = tmp_path / "cut.pkl"
    path.write_bytes(pickle.dumps({"a": list(range(100))}, protocol=4)[:-20])
    v = check(path, "inconclusive", {MF005})
    assert v.findings[0].severity == "low"


def test_truncated_malicious_pickle_stays_dangerous(tmp_path: Path, system: Payload) -> None:
    path = tmp_path / "cut.pkl"
    path.write_bytes(pickle.dumps([system, list(range(100))], protocol=4)[:-20])
    check(path, "dangerous", {MF001, MF005})


def test_every_consecutive_pickle_is_scanned(tmp_path: Path, system: Payload) -> None:
    path = tmp_path / "two.pkl"
    path.write_bytes(pickle.dumps({"benign": 1}, protocol=4) + pickle.dumps(system, protocol=4))
    v = check(path, "dangerous", {MF001})
    assert "pickle 2" in v.findings[0].message


def test_opcode_cap_makes_a_stream_inconclusive(tmp_path: Path) -> None:
    path = tmp_path / "long.pkl"
    path.write_bytes(pickle.dumps(list(range(1000)), protocol=4))
    v = verdict(path, Limits(max_ops=50), cross_check=False)
    assert (v.outcome, rules(v)) == ("inconclusive", {MF005})
    assert "more than 50 opcodes" in v.reasons[0]


@pytest.mark.parametrize("codec", ["gzip", "bz2"])
def test_compressed_pickles_are_decompressed_and_scanned(tmp_path: Path, system: Payload, codec: str) -> None:
    path = tmp_path / "model.joblib"
    compress = gzip.compress if codec == "gzip" else bz2.compress
    path.write_bytes(compress(pickle.dumps(system, protocol=4)))
    check(path, "dangerous", {MF001}, f"{codec}+pickle")


# --- torch, numpy, joblib ------------------------------------------------------------------------------


def test_torch_zip_benign_and_malicious(tmp_path: Path, system: Payload) -> None:
    v = check(torch_zip(tmp_path / "ok.pt", torch_state_dict_pickle()), "clean", set(), "torch_zip")
    assert v.globals == ("collections.OrderedDict", "torch.FloatStorage", "torch._utils._rebuild_tensor_v2")
    bad = check(torch_zip(tmp_path / "bad.pt", pickle.dumps(system, protocol=2)), "dangerous", {MF001}, "torch_zip")
    assert "archive/data.pkl" in bad.findings[0].message


def test_duplicate_zip_members_are_all_scanned(tmp_path: Path, system: Payload) -> None:
    path = write_zip(
        tmp_path / "dup.pt",
        [("archive/data.pkl", torch_state_dict_pickle()), ("archive/data.pkl", pickle.dumps(system, protocol=2))],
    )
    check(path, "dangerous", {MF001}, "torch_zip")


def test_torchscript_classes_are_not_unknown(tmp_path: Path) -> None:
    path = write_zip(
        tmp_path / "scripted.pt",
        {"archive/data.pkl": stack_global_call("__torch__", "MyModule", "x"),
         "archive/constants.pkl": pickle.dumps((), protocol=2), "archive/code/__torch__.py": b"def forward(self): ..."},
    )  # fmt: skip
    check(path, "clean", set(), "torchscript")


def test_legacy_torch_file_scans_all_five_pickles(tmp_path: Path, system: Payload) -> None:
    benign = tmp_path / "legacy_ok.bin"
    benign.write_bytes(legacy_torch(torch_state_dict_pickle()))
    check(benign, "clean", set(), "torch_legacy")
    bad = tmp_path / "legacy_bad.bin"
    bad.write_bytes(legacy_torch(pickle.dumps({"state": system}, protocol=2)))
    v = check(bad, "dangerous", {MF001}, "torch_legacy")
    assert "pickle 4 of 5" in v.findings[0].message


def test_npy_object_array_holds_a_pickle(tmp_path: Path, system: Payload) -> None:
    numeric = tmp_path / "plain.npy"
    numeric.write_bytes(npy("<f4", b"\x00" * 16, "(4,)"))
    check(numeric, "clean", set(), "npy")
    objects = tmp_path / "objects.npy"
    objects.write_bytes(npy("|O", pickle.dumps([system], protocol=3)))
    check(objects, "dangerous", {MF001}, "npy")
    npz = write_zip(tmp_path / "arrays.npz", {"a.npy": numeric.read_bytes(), "b.npy": objects.read_bytes()})
    check(npz, "dangerous", {MF001}, "npz")


def test_joblib_array_bytes_are_stepped_over(tmp_path: Path, system: Payload) -> None:
    benign = tmp_path / "model.joblib"
    benign.write_bytes(joblib_stream())
    check(benign, "clean", set(), "joblib")
    hidden = pickle.dumps(system, protocol=4)[2:-1]  # the call without PROTO and STOP, as a dict value
    bad = tmp_path / "bad.joblib"
    bad.write_bytes(joblib_stream(ustr("after_the_array") + hidden + b"s"))
    check(bad, "dangerous", {MF001}, "joblib")


def test_payload_disguised_as_joblib_array_bytes(tmp_path: Path, marker: Path) -> None:
    # joblib.load would skip these "array bytes"; pickle.load, pandas and torch read them as opcodes.
    hidden = f"cposix\nsystem\n(S'touch {marker}'\ntR0".encode()
    path = tmp_path / "disguised.pkl"
    path.write_bytes(joblib_stream(array=hidden, descr="u1", aligned=False))
    v = check(path, "dangerous", {MF001}, "joblib")
    assert "read as a plain pickle" in v.findings[0].message


# --- Keras, GGUF, safetensors, other formats ----------------------------------------------------------


def test_keras_lambda_layer(tmp_path: Path) -> None:
    check(keras_zip(tmp_path / "ok.keras", [DENSE]), "clean", set(), "keras")
    v = check(keras_zip(tmp_path / "lambda.keras", [DENSE, LAMBDA]), "suspicious", {MF003}, "keras")
    assert len(v.findings) == 1 and "'sneaky'" in v.findings[0].message
    assert v.findings[0].severity == "high"


def test_keras_config_naming_a_dangerous_module(tmp_path: Path) -> None:
    layer = {"module": "os", "class_name": "system", "config": {"name": "x"}}
    check(keras_zip(tmp_path / "evil.keras", [layer]), "dangerous", {MF001}, "keras")


def test_keras2_h5_with_lambda_found_by_byte_search(tmp_path: Path) -> None:
    config = json.dumps({"class_name": "Sequential", "config": {"layers": [LAMBDA]}}).encode()
    path = tmp_path / "model.h5"
    path.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\x00" * 4000 + b"model_config" + config + b"\x00" * 100)
    check(path, "suspicious", {MF003}, "hdf5")
    plain = tmp_path / "weights.h5"
    plain.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\x00" * 4000)
    check(plain, "clean", set(), "hdf5")


def test_gguf_chat_template(tmp_path: Path, marker: Path) -> None:
    benign = tmp_path / "ok.gguf"
    benign.write_bytes(gguf(BENIGN_TEMPLATE))
    check(benign, "clean", set(), "gguf")
    ssti = tmp_path / "ssti.gguf"
    ssti.write_bytes(gguf("{{ cycler.__init__.__globals__.os.popen('touch " + str(marker) + "').read() }}"))
    v = check(ssti, "dangerous", {MF004}, "gguf")
    assert "__init__" in v.findings[0].message and v.findings[0].cwe == "CWE-94"
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(gguf(BENIGN_TEMPLATE)[:-40])
    check(cut, "inconclusive", {MF005}, "gguf")


def test_safetensors(tmp_path: Path) -> None:
    path = tmp_path / "model.safetensors"
    path.write_bytes(safetensors())
    check(path, "clean", set(), "safetensors")
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(safetensors((0, 4096)))
    check(bad, "inconclusive", {MF005}, "safetensors")


def test_protobuf_formats(tmp_path: Path) -> None:
    onnx = tmp_path / "model.onnx"
    onnx.write_bytes(b"\x08\x07\x12\x07pytorch\x1a\x052.1.0:\x00")
    check(onnx, "clean", set(), "onnx")
    lz4 = tmp_path / "model.joblib"
    lz4.write_bytes(b"\x04\x22\x4d\x18" + b"\x00" * 32)
    check(lz4, "inconclusive", {MF005}, "lz4?")
    unsure = tmp_path / "odd.onnx"
    unsure.write_bytes(b"\x00\x01\x02 not protobuf")
    check(unsure, "inconclusive", {MF005}, "onnx?")
    graph = tmp_path / "saved_model.pb"
    graph.write_bytes(b"\x08\x01\x12\x40\x0a\x00" + b"\x12\x08ReadFile" + b"\x00" * 8)
    check(graph, "suspicious", {MF006}, "tf_savedmodel")


def test_empty_text_and_oversized_files_are_skipped(tmp_path: Path) -> None:
    empty = tmp_path / "empty.pt"
    empty.write_bytes(b"")
    text = tmp_path / "README.md"
    text.write_text("# A model\n\nGit v2.3. Some notes.\n")
    assert [verdict(p).outcome for p in (empty, text)] == ["skipped", "skipped"]
    assert verdict(text).reasons[0].startswith("not a model file")
    big = tmp_path / "big.pkl"
    big.write_bytes(pickle.dumps(list(range(100))))
    v = verdict(big, Limits(max_file_bytes=10))
    assert v.outcome == "skipped" and "cap" in v.reasons[0]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_is_not_opened(tmp_path: Path) -> None:
    fifo = tmp_path / "model.pkl"
    os.mkfifo(fifo)  # opening it for reading would block
    assert detect_format(fifo) is None
    assert not ModelFileScanner().accepts(ScanTarget(fifo, "model.pkl"))
    assert verdict(fifo).reasons == ("not a regular file",)


# --- format detection, classification, the scanner protocol ---------------------------------------


def test_detect_format_matrix(tmp_path: Path) -> None:
    files = {
        "a.pkl": pickle.dumps([1], protocol=4),
        "p0": pickle.dumps({"a": [1, 2]}, protocol=0),
        "p1.onnx": pickle.dumps({"a": [1, 2]}, protocol=1),  # the name is only a hint
        "weights.bin": legacy_torch(torch_state_dict_pickle()),
        "x.npy": npy("<f4", b"\x00" * 4),
        "g.gguf": gguf(None),
        "s.safetensors": safetensors(),
        "j.joblib": joblib_stream(),
        "notes.txt": b"Git v2.31.7 Release Notes\n=====\n",
        "data.csv": b"0.1,0.2\n0.3,0.4\n",
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    found = {name: detect_format(tmp_path / name) for name in files}
    assert found == {
        "a.pkl": "pickle", "p0": "pickle", "p1.onnx": "pickle", "weights.bin": "torch_legacy", "x.npy": "npy",
        "g.gguf": "gguf", "s.safetensors": "safetensors", "j.joblib": "joblib", "notes.txt": None, "data.csv": None,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("module", "name", "expected"),
    [
        ("posix", "system", "dangerous"),
        ("nt", "system", "dangerous"),
        ("os", "popen", "dangerous"),
        ("__builtin__", "eval", "dangerous"),
        ("commands", "getoutput", "dangerous"),  # the unpickler maps it to subprocess
        ("builtins", "object.__subclasses__", "dangerous"),  # protocol 4 dotted attribute path
        ("collections", "OrderedDict.__init__", "dangerous"),
        ("torch.serialization", "os.system", "dangerous"),
        ("torch._utils", "_rebuild_tensor_v2", "safe"),
        ("torch", "_utils._rebuild_tensor_v2", "safe"),
        ("copy_reg", "_reconstructor", "safe"),
        ("torch.nn.modules.linear", "Linear", "safe"),
        ("sklearn.linear_model._base", "LinearRegression", "unknown"),
    ],
)
def test_classify_global(module: str, name: str, expected: str) -> None:
    assert classify_global(module, name)[0] == expected


def test_rules_are_documented() -> None:
    assert sorted(RULES) == [MF001, MF002, MF003, MF004, MF005, MF006]
    assert {r.category for r in RULES.values()} == {"ai_specific"}
    assert {r.vuln_type for r in RULES.values()} <= {"unsafe_deserialization", "remote_code_execution"}


def test_scanner_protocol(tmp_path: Path, system: Payload) -> None:
    bad = tmp_path / "bad.bin"
    bad.write_bytes(pickle.dumps(system, protocol=2))
    text = tmp_path / "notes.txt"
    text.write_text("hello\n")
    scanner = ModelFileScanner()
    targets = [ScanTarget(bad, "models/bad.bin"), ScanTarget(text, "notes.txt")]
    assert [scanner.accepts(t) for t in targets] == [True, False]
    outcome = scanner.scan(targets)
    assert [(f.rule_id, f.path, f.scanner) for f in outcome.findings] == [(MF001, "models/bad.bin", "modelfiles")]
    assert [(s.path, s.reason.startswith("not a model file")) for s in outcome.skipped] == [("notes.txt", True)]
    assert scanner.ruleset() == ModelFileScanner().ruleset() != ModelFileScanner(Limits(max_ops=1)).ruleset()


def test_findings_do_not_depend_on_the_path(tmp_path: Path, system: Payload) -> None:
    # One scan of a content serves every repository and path holding it, so messages must not name the path.
    path = torch_zip(tmp_path / "a.pt", pickle.dumps(system, protocol=2))
    scanner = ModelFileScanner()
    one, two = (scanner.scan([ScanTarget(path, shown)]).findings for shown in ("x/a.pt", "y/b.pt"))
    assert [f.message for f in one] == [f.message for f in two] and "a.pt" not in one[0].message


def test_picklescan_is_a_second_opinion(tmp_path: Path, system: Payload) -> None:
    pytest.importorskip("picklescan")
    raw = tmp_path / "raw.pkl"
    raw.write_bytes(pickle.dumps(system, protocol=4))
    engines = dict(verdict(raw).engines)
    assert engines["ptmscope-modelfiles 1.0"] == "dangerous"
    assert next(v for k, v in engines.items() if k.startswith("picklescan")).startswith("dangerous")
    hidden = tmp_path / "hidden.joblib"
    hidden.write_bytes(gzip.compress(pickle.dumps(system, protocol=4)))
    v = verdict(hidden)
    assert v.outcome == "dangerous" and any("picklescan" in r and "says clean" in r for r in v.reasons)
