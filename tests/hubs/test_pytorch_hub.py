"""Reading the PyTorch Hub catalogue: hand-written pages with every oddity, the real catalogue, git."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ptmscope.errors import SourceUnavailableError, UsageError
from ptmscope.hubs.interface import Hub, ModelRecord
from ptmscope.hubs.pytorch_hub import PyTorchHub, github_repo_from, iter_catalogue
from tests.conftest import shared_path

ACME = """\
---
layout: hub_detail
title: Acme Nets
summary: Small nets for small images.
author: Acme Lab
tags: [vision, scriptable]
github-link: https://github.com/Acme/Nets/tree/main/models
github-id: acme/nets
---

Prose is not code: torch.hub.load('prose/only', 'never') is not read here.

```python
import torch.hub as hub
model = hub.load('Acme/Nets:v1.2', 'small', pretrained=True, source='github', trust_repo=True, device=dev)
# or one of these variants
# model = hub.load('Acme/Nets:v1.2', 'large',
#                  pretrained=False)
model.eval()
```

```
!pip install acme
%matplotlib inline
from torch import hub as h
print "python 2 in the catalogue"
again = h.load(repo_or_dir='acme/nets', model='small', verbose=False)
```

```bash
python -c "import torch; torch.hub.load('acme/nets', 'from_bash')"
```
"""

SPEECH = """\
---
layout: hub_detail
title: Speech
tags: [generative, audio]
github-id: org/speech
---

```py
from torch.hub import load as hload
name = 'tts_a'
#name = 'tts_b'   # the larger one
tts = hload('org/speech', name)
vocoder = hload('org/speech', 'vocoder', 'en', 3, config, 'ignored after a non-literal', **{'rate': 22050})
local = hload('./checkout', 'tts_a', source='local')
```
"""

BROKEN_YAML = """\
---
layout: hub_detail
title: [unclosed
tags: [nlp]
---
```python
import torch
m = torch.hub.load('org/broken', 'thing')
```
"""

NO_LOAD = """\
---
layout: hub_detail
title: My Great Model!
tags: [nlp, generative]
github-link: https://github.com/Org/NoLoad/blob/main/hubconf.py
github-id: Org/NoLoad
---
```python
import torch
model = build()
```
"""

NO_REPO = """\
---
layout: hub_detail
title: Nothing to go on
---
Just prose.
"""

TEMPLATE = """\
---
layout: hub_detail
<!-- Only change fields below -->
title: <REQUIRED: short model name>
github-id: <REQUIRED: top level of repo>
---
```python
torch.hub.load('pytorch/vision', 'resnet18', pretrained=True)
```
"""

OTHER_LAYOUT = """\
---
layout: post
title: News
---
```python
torch.hub.load('pytorch/vision', 'resnet18')
```
"""


def _write_samples(folder: Path) -> None:
    pages = {"acme.md": ACME, "speech.md": SPEECH, "broken_yaml.md": BROKEN_YAML, "no_load.md": NO_LOAD,
             "no_repo.md": NO_REPO, "_template.md": TEMPLATE, "copied_template.md": TEMPLATE,
             "news.md": OTHER_LAYOUT, "README.md": "# PyTorch Hub\n"}
    for name, text in pages.items():
        (folder / name).write_text(text, encoding="utf-8")


def _entry(repo: str, ref: str | None, entrypoint: str, file: str, line: int, *, args: list[Any] | None = None,
           kwargs: dict[str, Any] | None = None, commented: bool = False) -> dict[str, Any]:
    return {"repo": repo, "ref": ref, "entrypoint": entrypoint, "args": args or [], "kwargs": kwargs or {},
            "file": file, "line": line, "commented": commented}


def _summary(record: ModelRecord) -> tuple[Any, ...]:
    return (record.model_id, record.github_repo, record.title, record.author, record.tags, record.domain,
            record.entrypoints)


def test_sample_pages_give_exact_records(tmp_path: Path) -> None:
    _write_samples(tmp_path)
    catalogue = iter_catalogue(tmp_path)
    records = list(catalogue)

    assert [_summary(r) for r in records] == [
        ("Acme/Nets/large", "Acme/Nets", "Acme Nets", "Acme Lab", ("vision", "scriptable"), "CV",
         (_entry("Acme/Nets", "v1.2", "large", "acme.md", 17, kwargs={"pretrained": False}, commented=True),)),
        ("Acme/Nets/small", "Acme/Nets", "Acme Nets", "Acme Lab", ("vision", "scriptable"), "CV",
         (_entry("Acme/Nets", "v1.2", "small", "acme.md", 15,
                 kwargs={"pretrained": True, "source": "github", "trust_repo": True}),
          _entry("acme/nets", None, "small", "acme.md", 27, kwargs={"verbose": False}))),
        ("org/broken/thing", "org/broken", None, None, (), "Other",
         (_entry("org/broken", None, "thing", "broken_yaml.md", 8),)),
        ("Org/NoLoad/my-great-model", "Org/NoLoad", "My Great Model!", None, ("nlp", "generative"), "NLP", ()),
        ("org/speech/tts_a", "org/speech", "Speech", None, ("generative", "audio"), "Audio",
         (_entry("org/speech", None, "tts_a", "speech.md", 12),)),
        ("org/speech/tts_b", "org/speech", "Speech", None, ("generative", "audio"), "Audio",
         (_entry("org/speech", None, "tts_b", "speech.md", 12, commented=True),)),
        ("org/speech/vocoder", "org/speech", "Speech", None, ("generative", "audio"), "Audio",
         (_entry("org/speech", None, "vocoder", "speech.md", 13, args=["en", 3], kwargs={"rate": 22050}),)),
    ]
    assert catalogue.skipped == [
        ("README.md", "not a model page"),
        ("_template.md", "template"),
        ("copied_template.md", "template"),
        ("news.md", "layout 'post' is not hub_detail"),
        ("no_repo.md", "no torch.hub.load call and no GitHub repository in the front matter"),
    ]

    by_id = {r.model_id: r for r in records}
    broken = by_id["org/broken/thing"]
    assert broken.raw["front_matter"] == {}
    assert broken.raw["front_matter_error"] and "flow sequence" in broken.raw["front_matter_error"]
    small = by_id["Acme/Nets/small"]
    assert small.raw["file"] == "acme.md" and small.raw["front_matter_error"] is None
    assert small.raw["front_matter"]["github-id"] == "acme/nets"
    assert small.summary == "Small nets for small images."
    assert small.card_text == ACME and small.raw_hash
    assert small.created_at is None and small.last_modified is None
    assert by_id["org/speech/tts_a"].raw["unresolved_load_lines"] == [14]


def test_unreadable_files_are_skipped_and_reported(tmp_path: Path) -> None:
    catalogue_dir = tmp_path / "catalogue"
    catalogue_dir.mkdir()
    (catalogue_dir / "ok.md").write_text(BROKEN_YAML, encoding="utf-8")
    (catalogue_dir / "latin1.md").write_bytes(BROKEN_YAML.replace("thing", "th\xefng").encode("latin-1"))
    (catalogue_dir / "huge.md").write_text(BROKEN_YAML + "x" * 1_000_001, encoding="utf-8")
    (tmp_path / "outside.md").write_text(NO_LOAD, encoding="utf-8")
    (catalogue_dir / "escape.md").symlink_to(tmp_path / "outside.md")
    (catalogue_dir / "inside.md").symlink_to(catalogue_dir / "ok.md")

    catalogue = iter_catalogue(catalogue_dir)

    assert [r.model_id for r in catalogue] == ["org/broken/thing"]
    reasons = dict(catalogue.skipped)
    assert reasons.keys() == {"latin1.md", "huge.md", "escape.md"}
    assert reasons["latin1.md"].startswith("not UTF-8")
    assert reasons["huge.md"] == "larger than 1000000 bytes"
    assert reasons["escape.md"] == "symlink pointing outside the catalogue"


def test_missing_directory_and_bad_source_are_refused(tmp_path: Path) -> None:
    with pytest.raises(SourceUnavailableError, match="not found"):
        iter_catalogue(tmp_path / "nowhere")
    # Something that is no source at all is the user's input error, and never reaches git.
    with pytest.raises(UsageError, match="not a directory, git URL or owner/name"):
        iter_catalogue("--upload-pack=touch /tmp/pwned")


@pytest.mark.parametrize(("value", "expected"), [
    ("pytorch/vision", "pytorch/vision"),
    ("coderx7/simplenet_pytorch", "coderx7/simplenet_pytorch"),
    ("https://github.com/pytorch/vision/blob/main/torchvision/models/resnet.py", "pytorch/vision"),
    ("https://github.com/NVIDIA/DeepLearningExamples/tree/torchhub/PyTorch/Classification",
     "NVIDIA/DeepLearningExamples"),
    ("https://github.com/ultralytics/yolov5.git", "ultralytics/yolov5"),
    ("https://www.github.com/snakers4/silero-vad?tab=readme#usage", "snakers4/silero-vad"),
    ("github.com/intel-isl/MiDaS/", "intel-isl/MiDaS"),
    ("https://gitlab.com/owner/repo", None),
    ("https://github.com/pytorch", None),
    ("", None),
])
def test_github_repo_from(value: str, expected: str | None) -> None:
    assert github_repo_from(value) == expected


def test_pytorch_hub_is_a_hub_and_orders_by_page_dates(tmp_path: Path) -> None:
    _write_samples(tmp_path)
    old, new = datetime(2021, 1, 1, tzinfo=UTC), datetime(2024, 1, 1, tzinfo=UTC)
    hub: Hub = PyTorchHub(tmp_path, file_dates={"acme.md": (old, old), "speech.md": (old, new)})
    assert hub.name == "pytorch_hub"

    ids = [r.model_id for r in hub.iter_models()]
    assert ids[:3] == ["org/speech/tts_a", "org/speech/tts_b", "org/speech/vocoder"]
    assert ids[3:5] == ["Acme/Nets/large", "Acme/Nets/small"]
    recent = [r.model_id for r in hub.iter_models(since=datetime(2022, 1, 1, tzinfo=UTC))]
    # Undated pages stay: nothing shows they are older than `since`.
    assert recent == ["org/speech/tts_a", "org/speech/tts_b", "org/speech/vocoder", "org/broken/thing",
                      "Org/NoLoad/my-great-model"]
    assert next(r for r in hub.iter_models() if r.model_id == "org/speech/tts_a").created_at == old


# --- the real catalogue --------------------------------------------------------------------------------


@pytest.mark.shared
def test_real_catalogue() -> None:
    folder = shared_path("fixtures", "pytorch_hub")
    catalogue = iter_catalogue(folder)
    records = list(catalogue)
    print(f"PyTorch Hub catalogue: {len(records)} records")

    assert catalogue.skipped == [("PROVENANCE.md", "no front matter"), ("_template.md", "template")]
    pages = {p.name for p in folder.glob("*.md")} - {"PROVENANCE.md", "_template.md"}
    assert len(pages) == 52
    seen = {e["file"] for r in records for e in r.entrypoints} | {r.raw["file"] for r in records}
    assert seen == pages
    assert len({r.model_id for r in records}) == len(records)
    for record in records:
        assert record.hub == "pytorch_hub"
        assert record.github_repo and re.fullmatch(r"[\w-]+/[\w.-]+", record.github_repo)
        assert record.model_id.startswith(f"{record.github_repo}/")
        assert record.entrypoints and record.title and record.raw["front_matter_error"] is None
        assert record.domain in {"CV", "NLP", "Audio"}
    by_id = {r.model_id: r for r in records}
    for depth in (18, 34, 50, 101, 152):
        resnet = by_id[f"pytorch/vision/resnet{depth}"]
        assert resnet.entrypoints[0]["ref"] == "v0.10.0"
        assert resnet.entrypoints[0]["kwargs"] == {"pretrained": True}
        assert resnet.entrypoints[0]["commented"] is (depth != 18)
        assert resnet.title == "ResNet" and resnet.domain == "CV"
    assert by_id["ultralytics/yolov5/yolov5s"].github_repo == "ultralytics/yolov5"
    vad = by_id["snakers4/silero-vad/silero_vad"]
    assert vad.domain == "Audio" and vad.entrypoints[0]["kwargs"] == {"force_reload": True}
    assert {"intel-isl/MiDaS/DPT_Large", "intel-isl/MiDaS/DPT_Hybrid", "intel-isl/MiDaS/MiDaS_small",
            "facebookresearch/pytorchvideo/x3d_s", "coderx7/simplenet_pytorch/simplenetv1_small_m2_075",
            "huggingface/pytorch-transformers/modelForSequenceClassification"} <= by_id.keys()
    # NVIDIA's pages load each other's models; each model takes its metadata from its own page.
    assert by_id["NVIDIA/DeepLearningExamples/nvidia_hifigan"].title == "HiFi GAN"
    assert by_id["NVIDIA/DeepLearningExamples/nvidia_waveglow"].title == "WaveGlow"
    assert len(by_id["NVIDIA/DeepLearningExamples/nvidia_waveglow"].entrypoints) == 2
    # Every literal (repo, entrypoint) in the catalogue; PeaTMOSS's 362 also counted entrypoints that
    # pages name only in prose or that the repositories' hubconf.py files define.
    assert 110 <= len(records) <= 130


# --- git sources ---------------------------------------------------------------------------------------


def _git(*args: str, cwd: Path) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.org", "-c", "commit.gpgsign=false",
                    *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture
def catalogue_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    repo = tmp_path / "owner" / "hub"
    repo.mkdir(parents=True)
    (repo / "acme.md").write_text(ACME, encoding="utf-8")
    (repo / "speech.md").write_text(SPEECH, encoding="utf-8")
    _git("init", "-q", cwd=repo)
    _git("add", ".", cwd=repo)
    _git("commit", "-q", "-m", "catalogue", cwd=repo)
    return repo


def _hook(hooks: Path, marker: Path) -> None:
    hooks.mkdir(parents=True, exist_ok=True)
    for name in ("post-checkout", "post-merge", "reference-transaction"):
        (hooks / name).write_text(f"#!/bin/sh\ntouch {marker}\n")
        (hooks / name).chmod(0o755)


def test_git_source_is_cloned_without_running_hooks(catalogue_repo: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    source_marker, template_marker = tmp_path / "source-hook-ran", tmp_path / "template-hook-ran"
    _hook(catalogue_repo / ".git" / "hooks", source_marker)
    # Hooks a clone would copy from the user's template directory and then run on checkout.
    _hook(tmp_path / "template" / "hooks", template_marker)
    monkeypatch.setenv("GIT_TEMPLATE_DIR", str(tmp_path / "template"))
    workdir = tmp_path / "work"
    workdir.mkdir()

    catalogue = iter_catalogue(f"file://{catalogue_repo}", workdir=workdir)

    assert [r.model_id for r in catalogue] == ["Acme/Nets/large", "Acme/Nets/small", "org/speech/tts_a",
                                               "org/speech/tts_b", "org/speech/vocoder"]
    assert catalogue.skipped == []
    assert not source_marker.exists() and not template_marker.exists()
    assert list(workdir.iterdir()) == []  # the clone is gone


def test_owner_name_source_is_cloned_from_git_base(catalogue_repo: Path, tmp_path: Path) -> None:
    records = list(iter_catalogue("owner/hub", git_base=f"file://{tmp_path}"))
    assert len(records) == 5


def test_failed_clone_raises_a_one_line_source_unavailable(catalogue_repo: Path, tmp_path: Path) -> None:
    with pytest.raises(SourceUnavailableError) as failure:
        iter_catalogue(f"file://{tmp_path}/missing")
    assert str(failure.value).startswith(f"cannot clone file://{tmp_path}/missing: ")
    assert "\n" not in str(failure.value)
