"""One test per resolution rule of the usage analyzer, the catalogue against the PeaTMOSS reference list, and
the file handling (notebooks, encodings, size cap, symlinks, files that do not parse)."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import pytest

from ptmscope.usage.analyzer import MAX_SOURCE_BYTES, Usage, analyze_path, analyze_source, is_local_path
from ptmscope.usage.signatures import catalogue, catalogue_summary, load_catalogue
from tests.conftest import shared_path
from tests.usage.corpus import notebook, write


def models(text: str) -> list[str | None]:
    return [u.model for u in analyze_source(text)]


def one(text: str) -> Usage:
    found = analyze_source(text)
    assert len(found) == 1, found
    return found[0]


# --- imports and call matching ------------------------------------------------------------------------------


@pytest.mark.parametrize("source", [
    "import transformers\ntransformers.AutoModel.from_pretrained('gpt2')",
    "import transformers as tf\ntf.AutoModel.from_pretrained('gpt2')",
    "from transformers import AutoModel\nAutoModel.from_pretrained('gpt2')",
    "from transformers import AutoModel as AM\nAM.from_pretrained('gpt2')",
    "from transformers.models.gpt2 import GPT2LMHeadModel\nGPT2LMHeadModel.from_pretrained('gpt2')",
    "import transformers\nM = transformers.AutoModel\nM.from_pretrained('gpt2')",
    "try:\n    import transformers\nexcept ImportError:\n    transformers = None\n"
    "transformers.AutoModel.from_pretrained('gpt2')",
    "from transformers import TFAutoModelForCausalLM\nTFAutoModelForCausalLM.from_pretrained('gpt2')",
    "from transformers import GPT2Tokenizer\nGPT2Tokenizer.from_pretrained(pretrained_model_name_or_path='gpt2')",
])
def test_imports_and_attribute_chains_resolve(source: str) -> None:
    assert models(source) == ["gpt2"]


@pytest.mark.parametrize("source", [
    "import mylib\nmylib.from_pretrained('gpt2')",
    "from mylib import AutoModel\nAutoModel.from_pretrained('gpt2')",
    "from transformers import AutoModel\nAutoModel.from_config(cfg)",
    "from datasets import load_dataset\nimport transformers\nload_dataset('imdb')",
    "import json, torch, transformers\njson.load(open('c.json'))\ntorch.load('ckpt.pt')",
    "import transformers\ndef pipeline(x, model=None):\n    return x\npipeline('ner', model='dslim/bert-base-NER')",
    "from torchvision.models import resnet18\nresnet18()\nresnet18(weights=None)\nresnet18(pretrained=False)",
    "import timm\ntimm.create_model('resnet50')",
    "from huggingface_hub import hf_hub_download\nhf_hub_download('squad', 'x.json', repo_type='dataset')",
    "import spacy\nspacy.blank('en')",
])
def test_lookalikes_are_not_loads(source: str) -> None:
    assert [u for u in analyze_source(source) if u.model is not None] == []


def test_saving_and_pushing_are_not_loads() -> None:
    source = ("from transformers import AutoModel\nm = AutoModel.from_pretrained('gpt2')\nm.save_pretrained('out')\n"
              "m.push_to_hub('me/x')\nAutoModel.register(None, None)")
    assert [(u.line, u.model) for u in analyze_source(source)] == [(2, "gpt2")]


def test_a_subclass_of_a_library_class_inherits_its_loader() -> None:
    source = ("from transformers import BertPreTrainedModel\nclass Tagger(BertPreTrainedModel):\n    pass\n"
              "Tagger.from_pretrained('bert-base-cased')\nclass Other:\n    pass\nOther.from_pretrained('x')")
    assert models(source) == ["bert-base-cased"]


# --- values -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("source", "expected"), [
    ("from transformers import AutoModel\nNAME = 'gpt2'\nAutoModel.from_pretrained(NAME)", "gpt2"),
    ("from transformers import AutoModel\nclass C:\n    NAME = 'gpt2'\nAutoModel.from_pretrained(C.NAME)", "gpt2"),
    ("from transformers import AutoModel\nclass C:\n    NAME = 'gpt2'\n    def load(self):\n"
     "        return AutoModel.from_pretrained(self.NAME)", "gpt2"),
    ("from transformers import AutoModel\nclass C:\n    def __init__(self, name='gpt2'):\n        self.name = name\n"
     "    def load(self):\n        return AutoModel.from_pretrained(self.name)", "gpt2"),
    ("from transformers import AutoModel\ndef load(name='gpt2'):\n    return AutoModel.from_pretrained(name)", "gpt2"),
    ("from transformers import AutoModel\ndef load(name):\n    return AutoModel.from_pretrained(name)\nload('gpt2')",
     "gpt2"),
    ("from transformers import AutoModel\ndef f():\n    name = 'x'\n    name = 'gpt2'\n"
     "    return AutoModel.from_pretrained(name)", "gpt2"),
    ("from transformers import AutoModel\nname = 'gpt2'\ndef f():\n    return AutoModel.from_pretrained(name)\n"
     "name_other = 'x'", "gpt2"),
    ("from transformers import AutoModel\nORG = 'openai-community'\nAutoModel.from_pretrained(ORG + '/' + 'gpt2')",
     "openai-community/gpt2"),
    ("from transformers import AutoModel\nORG = 'openai-community'\nAutoModel.from_pretrained(f'{ORG}/gpt2')",
     "openai-community/gpt2"),
    ("from transformers import AutoModel\nAutoModel.from_pretrained('{}/{}'.format('openai-community', 'gpt2'))",
     "openai-community/gpt2"),
    ("from transformers import AutoModel\nAutoModel.from_pretrained('%s/gpt2' % 'openai-community')",
     "openai-community/gpt2"),
    ("from transformers import AutoModel\nname = 'gpt'\nname += '2'\nAutoModel.from_pretrained(name)", "gpt2"),
    ("from transformers import AutoModel\nCFG = {'model': {'id': 'gpt2'}}\n"
     "AutoModel.from_pretrained(CFG['model']['id'])", "gpt2"),
    ("from transformers import AutoModel\nCFG = dict(model='gpt2')\nAutoModel.from_pretrained(CFG.get('model'))",
     "gpt2"),
    ("from transformers import AutoModel\nIDS = ['gpt2', 'x']\nAutoModel.from_pretrained(IDS[0])", "gpt2"),
    ("import os\nfrom transformers import AutoModel\nAutoModel.from_pretrained(os.environ.get('M', 'gpt2'))", "gpt2"),
    ("import argparse\nfrom transformers import AutoModel\np = argparse.ArgumentParser()\n"
     "p.add_argument('--model-name', '-m', default='gpt2')\nargs = p.parse_args()\n"
     "AutoModel.from_pretrained(args.model_name)", "gpt2"),
    ("import argparse\nfrom transformers import AutoModel\np = argparse.ArgumentParser()\n"
     "p.add_argument('-m', dest='checkpoint', default='gpt2')\nAutoModel.from_pretrained(p.parse_args().checkpoint)",
     "gpt2"),
    ("from transformers import AutoModel\nkw = {'pretrained_model_name_or_path': 'gpt2'}\n"
     "AutoModel.from_pretrained(**kw)", "gpt2"),
    ("from transformers import AutoModel\nbig = False\nAutoModel.from_pretrained('gpt2-xl' if big else 'gpt2')",
     "gpt2"),
    ("from transformers import AutoModel\nAutoModel.from_pretrained('https://huggingface.co/gpt2')", "gpt2"),
])
def test_values_resolve(source: str, expected: str) -> None:
    assert models(source) == [expected]


def test_a_literal_loop_is_one_load_per_item() -> None:
    source = "from transformers import AutoModel\nfor n in ('gpt2', 'distilgpt2'):\n    AutoModel.from_pretrained(n)"
    assert sorted(models(source)) == ["distilgpt2", "gpt2"]


def test_unresolvable_arguments_keep_the_expression() -> None:
    u = one("import sys\nfrom transformers import AutoModel\nAutoModel.from_pretrained(sys.argv[1])")
    assert (u.model, u.resolved, u.kind, u.expression) == (None, False, "unknown", "sys.argv[1]")
    u = one("from transformers import AutoModel\ndef f(x):\n    return AutoModel.from_pretrained(x)")
    assert (u.model, u.resolved, u.expression) == (None, False, "x")


@pytest.mark.parametrize("text", ["./checkpoints/x", "../m", "/abs/path", "~/models/x", "C:\\models\\x",
                                  "output/run-1/checkpoint-500", "checkpoints/best", "model.safetensors",
                                  "weights/yolo.pt"])
def test_local_paths(text: str) -> None:
    assert is_local_path(text)
    u = one(f"from transformers import AutoModel\nAutoModel.from_pretrained({text!r})")
    assert (u.model, u.kind, u.local_path, u.resolved) == (None, "local", text, False)


@pytest.mark.parametrize("text", ["gpt2", "openai-community/gpt2", "google-bert/bert-base-uncased",
                                  "https://tfhub.dev/google/x/1"])
def test_hub_ids_are_not_local(text: str) -> None:
    assert not is_local_path(text)


def test_path_building_calls_are_local() -> None:
    source = ("import os\nfrom pathlib import Path\nfrom transformers import AutoModel\n"
              "AutoModel.from_pretrained(os.path.join('out', 'best'))\n"
              "AutoModel.from_pretrained(Path(__file__).parent / 'model')\nAutoModel.from_pretrained(Path('gpt2'))")
    assert [u.kind for u in analyze_source(source)] == ["local"] * 3


# --- revision, trust_remote_code, use_safetensors ------------------------------------------------------------------


def test_revision_and_flags() -> None:
    sha = "0123456789abcdef0123456789abcdef01234567"
    u = one(f"from transformers import AutoModel\nREV = {sha!r}\nAutoModel.from_pretrained('x/y', revision=REV, "
            "trust_remote_code=True, use_safetensors=False)")
    assert (u.revision, u.pinned, u.pinned_to_commit, u.trust_remote_code, u.use_safetensors) == (
        sha, True, True, True, False)
    u = one("from transformers import AutoModel\nAutoModel.from_pretrained('x/y', revision='v1.0')")
    assert (u.revision, u.pinned, u.pinned_to_commit, u.trust_remote_code, u.use_safetensors) == (
        "v1.0", True, False, False, None)
    u = one("from transformers import AutoModel\nAutoModel.from_pretrained('x/y', revision='main')")
    assert (u.revision, u.pinned) == ("main", False)
    u = one("from transformers import AutoModel\nAutoModel.from_pretrained('x/y', revision=rev, trust_remote_code=t)")
    assert (u.revision, u.pinned, u.trust_remote_code) == (None, None, None)


def test_library_specific_arguments() -> None:
    source = """
import torch, whisper, stanza
from peft import PeftModel
from huggingface_hub import snapshot_download
torch.hub.load('pytorch/vision:v0.10.0', 'resnet18', pretrained=True)
torch.hub.load('./repo', 'custom', source='local')
PeftModel.from_pretrained(base, 'org/adapter')
whisper.load_model('base')
stanza.Pipeline('fr')
snapshot_download(repo_id='org/m', revision='abc')
"""
    got = [(u.library, u.model, u.kind, u.revision, u.hub) for u in analyze_source(source)]
    assert got == [
        ("torch.hub", "pytorch/vision/resnet18", "hub", "v0.10.0", "pytorch_hub"),
        ("torch.hub", None, "local", None, "pytorch_hub"),
        ("peft", "org/adapter", "hub", None, "huggingface"),
        ("whisper", "openai/whisper-base", "hub", None, "huggingface"),
        ("stanza", "stanfordnlp/stanza-fr", "hub", None, "huggingface"),
        ("huggingface_hub", "org/m", "hub", "abc", "huggingface"),
    ]


def test_pipeline_without_model_is_a_call_site_without_id() -> None:
    u = one("from transformers import pipeline\npipeline('sentiment-analysis')")
    assert (u.model, u.resolved, u.expression) == (None, False, "task default")


def test_references_to_bundles() -> None:
    source = ("import torchaudio\nfrom torchtext.models import XLMR_BASE_ENCODER\n"
              "b = torchaudio.pipelines.HUBERT_BASE\nm = b.get_model()\nenc = XLMR_BASE_ENCODER.get_model()")
    assert models(source) == ["pytorch/audio/HUBERT_BASE", "pytorch/text/XLMR_BASE_ENCODER"]


# --- files ---------------------------------------------------------------------------------------------------------


def test_cross_file_constants_configs_and_args(tmp_path: Path) -> None:
    write(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/consts.py": "BASE = 'org'\nMODEL = BASE + '/model-a'\n",
        "pkg/run.py": "from transformers import AutoModel\nfrom .consts import MODEL\nfrom . import consts\n"
                      "AutoModel.from_pretrained(MODEL)\nAutoModel.from_pretrained(consts.BASE + '/model-b')\n",
        "cfg/settings.yaml": "model: {name: org/model-c}\n",
        "cfg.py": "import yaml\nfrom transformers import AutoModel\n"
                  "AutoModel.from_pretrained(yaml.safe_load(open('cfg/settings.yaml'))['model']['name'])\n"
                  "AutoModel.from_pretrained(yaml.safe_load(open('../../etc/passwd'))['x'])\n",
        "opts.py": "import argparse\ndef opts():\n    p = argparse.ArgumentParser()\n"
                   "    p.add_argument('--backbone', default='org/model-d')\n    return p\n",
        "main.py": "from transformers import AutoModel\nfrom opts import opts\nargs = opts().parse_args()\n"
                   "AutoModel.from_pretrained(args.backbone)\n",
    })
    report = analyze_path(tmp_path)
    assert [(u.path, u.line, u.model) for u in report.usages] == [
        ("cfg.py", 3, "org/model-c"), ("cfg.py", 4, None), ("main.py", 4, "org/model-d"),
        ("pkg/run.py", 4, "org/model-a"), ("pkg/run.py", 5, "org/model-b")]


def test_notebook_cells_and_lines(tmp_path: Path) -> None:
    write(tmp_path, {"nb.ipynb": notebook([
        ("markdown", "# title"),
        ("code", "!pip install -q transformers\nfrom transformers import AutoModel\nNAME = 'gpt2'"),
        ("code", "if True:\n    !nvidia-smi\n    m = AutoModel.from_pretrained(NAME)"),
        ("code", "def broken(:\n    pass"),
        ("code", "%%bash\nAutoModel.from_pretrained('not-python')"),
    ])})
    report = analyze_path(tmp_path)
    assert [(u.path, u.cell, u.line, u.model) for u in report.usages] == [("nb.ipynb", 2, 3, "gpt2")]
    assert any("cell 3" in reason for _, reason in report.skipped)
    assert report.to_json()["usages"][0]["cell"] == 2


def test_bad_files(tmp_path: Path) -> None:
    load = "from transformers import AutoModel\nAutoModel.from_pretrained('org/x')\n"
    write(tmp_path, {
        "latin1.py": ("# -*- coding: latin-1 -*-\n# caf\xe9\n" + load).encode("latin-1"),
        "mislabelled.py": b"# caf\xe9 in latin-1 without a declaration\n" + load.encode(),
        "nul.py": load.encode() + b"\x00\x00",
        "huge.py": load + "#" * (MAX_SOURCE_BYTES + 1),
        "notebook.ipynb": "{not json",
        "deep.py": "from transformers import AutoModel\nx = " + "(" * 300 + "1" + ")" * 300 + "\n",
    })
    outside = tmp_path.parent / "outside.py"
    outside.write_text(load)
    os.symlink(outside, tmp_path / "link.py")
    report = analyze_path(tmp_path)
    reasons = dict(report.skipped)
    assert [(u.path, u.model, u.confidence) for u in report.usages] == [
        ("latin1.py", "org/x", 1.0), ("mislabelled.py", "org/x", 1.0), ("nul.py", "org/x", 0.5)]
    assert "over the" in reasons["huge.py"]
    assert reasons["link.py"] == "symlink, not followed"
    assert "not a notebook" in reasons["notebook.ipynb"]
    assert "does not parse" in reasons["nul.py"]
    assert "deep.py" in reasons
    json.dumps(report.to_json())


def test_contract_fields(tmp_path: Path) -> None:
    write(tmp_path, {"a.py": "from transformers import AutoModel\nAutoModel.from_pretrained('gpt2')\n"})
    document = analyze_path(tmp_path).to_json()
    usage = document["usages"][0]
    for name in ("model", "library", "call", "path", "line", "revision", "pinned", "trust_remote_code", "resolved"):
        assert name in usage
    assert (usage["model"], usage["path"], usage["line"], usage["resolved"]) == ("gpt2", "a.py", 2, True)
    assert document["skipped"] == [] and document["files"] == 1


# --- the catalogue ---------------------------------------------------------------------------------------------------


def test_catalogue_covers_the_peatmoss_reference_list() -> None:
    reference = shared_path("reference", "peatmoss-signatures", "ptm_usage_signatures.csv")
    cat = catalogue()
    covered = {ref for sig in cat.signatures for ref in sig.reference}
    with reference.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    for row in rows:
        module, method, kind = row["import_identifier"], row["method_or_name"], row["kind"]
        if kind == "library_api":
            assert f"{module}:{method}" in covered, row
        elif kind == "spacy_pipeline_package":
            if module.isidentifier():
                assert cat.match(f"{module}.load") is not None, module
            else:  # not importable: reachable through spacy.load only
                assert cat.match("spacy.load") is not None
        elif kind == "torchvision_model_builder":
            assert cat.match(f"torchvision.models.{method}") is not None, method
        elif kind == "torchaudio_pipeline_bundle":
            assert cat.match(f"torchaudio.pipelines.{method}", reference=True) is not None, method
        elif kind == "torchtext_model_bundle":
            assert cat.match(f"torchtext.models.{method}", reference=True) is not None, method
    libraries = {sig.library for sig in cat.signatures}
    for gap in ("peft", "trl", "setfit", "keras_hub", "ultralytics", "vllm", "llama_cpp", "whisper", "tensorflow_hub",
                "gliner", "sentence-transformers"):
        assert gap in libraries


def test_catalogue_summary_and_validation() -> None:
    summary = catalogue_summary()
    assert summary["transformers"] >= 2 and sum(summary.values()) >= 300
    print("\nsignatures per library:", summary)
    with pytest.raises(ValueError, match="needs calls or patterns"):
        load_catalogue('[[signature]]\nlibrary = "x"\n')
    with pytest.raises(ValueError, match="model_from"):
        load_catalogue('[[signature]]\nlibrary = "x"\ncalls = ["x.y"]\nmodel_from = "nope"\n')


def test_a_library_that_checks_its_own_hashes_pins_without_a_revision(tmp_path: Path) -> None:
    (tmp_path / "asr.py").write_text('import whisper\nfrom transformers import AutoModel\n'
                                     'm = whisper.load_model("base.en")\n'
                                     'h = AutoModel.from_pretrained("openai/whisper-base.en")\n', encoding="utf-8")
    by_line = {u.line: u for u in analyze_path(tmp_path).usages}
    assert (by_line[3].model, by_line[3].pinned, by_line[3].pinned_to_commit, by_line[3].revision) == (
        "openai/whisper-base.en", True, True, None)
    assert (by_line[4].pinned, by_line[4].pinned_to_commit) == (False, False)


def test_a_parameter_checked_against_literals_takes_those_values(tmp_path: Path) -> None:
    (tmp_path / "model.py").write_text(
        "from transformers import GPT2LMHeadModel\n\n"
        "class GPT:\n"
        "    @classmethod\n"
        "    def from_pretrained(cls, model_type):\n"
        "        assert model_type in {'gpt2', 'gpt2-medium'}\n"
        "        return GPT2LMHeadModel.from_pretrained(model_type)\n\n"
        "def load(name):\n"
        "    if name not in ('distilgpt2',):\n"
        "        raise ValueError(name)\n"
        "    return GPT2LMHeadModel.from_pretrained(name)\n\n"
        "def free(name):\n"
        "    assert name, 'a truthiness check restricts nothing'\n"
        "    return GPT2LMHeadModel.from_pretrained(name)\n", encoding="utf-8")
    found = sorted((u.line, u.model) for u in analyze_path(tmp_path).usages)
    assert found == [(7, "gpt2"), (7, "gpt2-medium"), (12, "distilgpt2"), (16, None)]
