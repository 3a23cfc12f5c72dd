"""Link candidates from model cards and hub declarations: the real cards in ../shared, and the
boilerplate that tools write into cards."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from ptmscope.link.extract import (
    EVIDENCE_CHARS,
    KIND_CARD,
    KIND_HUB,
    KIND_LIBRARY,
    LIBRARY_FACTOR,
    LinkCandidate,
    links_for_model,
)
from ptmscope.link.urls import REASON_GIST, REASON_SHORT_LINK
from tests.conftest import shared_path


def _front_matter(text: str) -> Any:
    """The card's YAML as the Hub's cardData would hold it (None when there is none or it is broken)."""
    lines = text.lstrip().split("\n")
    if not lines or lines[0].strip() != "---":
        return None
    end = next((i for i in range(1, len(lines)) if lines[i].strip() == "---"), None)
    if end is None:
        return None
    try:
        data = yaml.safe_load("\n".join(lines[1:end]))
    except yaml.YAMLError:
        return None
    return data if isinstance(data, dict) else None


def _by(candidates: tuple[LinkCandidate, ...]) -> dict[tuple[str, str], LinkCandidate]:
    """The first candidate of each (repository, kind): the YAML's come before the text's."""
    by: dict[tuple[str, str], LinkCandidate] = {}
    for c in candidates:
        by.setdefault((c.repo.full_name, c.kind), c)
    return by


# --- the real cards ----------------------------------------------------------------------------------


@pytest.mark.shared
def test_real_cards_any_link_against_manifest() -> None:
    """The manifest's ``github_link`` flag says whether a card links a github.com repository
    (owner pages and image hosts do not count). "Found" is any candidate of a model_card or
    library_mention kind; "found on github.com" leaves out links through Colab, raw file hosts and
    Pages sites, which the flag does not count but which do name repositories."""
    folder = shared_path("fixtures", "model_cards")
    manifest = json.loads((folder / "_manifest.json").read_text())
    truth: dict[str, bool] = {}
    any_found: dict[str, bool] = {}
    github_found: dict[str, bool] = {}
    for entry in manifest:
        text = (folder / entry["file"]).read_text(encoding="utf-8")
        author = entry["model_id"].split("/")[0] if "/" in entry["model_id"] else None
        found = links_for_model(card_data=_front_matter(text), card_text=text, author=author)
        truth[entry["file"]] = entry["features"]["github_link"]
        any_found[entry["file"]] = bool(found.candidates)
        github_found[entry["file"]] = any("github.com/" in c.repo.url.lower() and "githubusercontent" not in
                                          c.repo.url.lower() for c in found.candidates)

    def score(found: dict[str, bool]) -> tuple[float, float, list[str], list[str]]:
        tp = sum(found[f] and truth[f] for f in truth)
        fp = sorted(f for f in truth if found[f] and not truth[f])
        fn = sorted(f for f in truth if truth[f] and not found[f])
        return tp / (tp + len(fp)), tp / (tp + len(fn)), fp, fn

    p_any, r_any, fp_any, fn_any = score(any_found)
    p_gh, r_gh, fp_gh, fn_gh = score(github_found)
    print(f"\ncards: {len(truth)}, with a GitHub link per manifest: {sum(truth.values())}")
    print(f"any link:             precision {p_any:.3f} recall {r_any:.3f}  extra: {fp_any}  missed: {fn_any}")
    print(f"github.com link only: precision {p_gh:.3f} recall {r_gh:.3f}  extra: {fp_gh}  missed: {fn_gh}")
    assert r_any >= 0.95 and p_any >= 0.95
    assert r_gh >= 0.98 and p_gh >= 0.98


@pytest.mark.shared
def test_real_cards_fields_lines_and_kinds() -> None:
    folder = shared_path("fixtures", "model_cards")

    def links(name: str, author: str | None = None) -> dict[tuple[str, str], LinkCandidate]:
        text = (folder / name).read_text(encoding="utf-8")
        return _by(links_for_model(card_data=_front_matter(text), card_text=text, author=author).candidates)

    llama = links("meta-llama__Meta-Llama-3-8B.md", "meta-llama")
    assert llama["meta-llama/llama3", KIND_CARD].field == "extra_gated_prompt"

    deepseek = links("deepseek-ai__DeepSeek-V2-Chat.md", "deepseek-ai")
    assert deepseek["deepseek-ai/DeepSeek-V2", KIND_CARD].field == "license_link"

    agent = links("Artachtron__SnowballTarget1.md", "Artachtron")
    mention = agent["Unity-Technologies/ml-agents", KIND_LIBRARY]
    assert mention.field == "card_text" and mention.line == 13
    assert mention.evidence.startswith("This is a trained model of a **ppo** agent playing")
    assert mention.confidence == pytest.approx(LIBRARY_FACTOR)

    gist_card = (folder / "chrisliu298__arxiv_ai_gpt2.md").read_text(encoding="utf-8")
    found = links_for_model(card_data=_front_matter(gist_card), card_text=gist_card)
    assert [r.reason for r in found.rejected] == [REASON_GIST]
    by = _by(found.candidates)
    assert by["staeiou/arxiv_archive", KIND_CARD].field == "datasets"
    transformers = by["huggingface/transformers", KIND_CARD]  # a real pointer to example code, not boilerplate
    assert transformers.line == 21 and "run_generation.py" in transformers.evidence


@pytest.mark.shared
def test_real_cards_front_matter_left_to_card_data() -> None:
    folder = shared_path("fixtures", "model_cards")
    text = (folder / "deepseek-ai__DeepSeek-V2-Chat.md").read_text(encoding="utf-8")
    with_data = _by(links_for_model(card_data=_front_matter(text), card_text=text).candidates)
    text_only = links_for_model(card_text=text).candidates
    assert with_data["deepseek-ai/DeepSeek-V2", KIND_CARD].field == "license_link"
    # Without the parsed YAML, the same front matter line is read as text.
    first = next(c for c in text_only if c.repo.full_name == "deepseek-ai/DeepSeek-V2")
    assert first.field == "card_text" and first.line is not None and first.line < 10


# --- hand-written cards ------------------------------------------------------------------------------


TRAINER_CARD = """\
---
license: apache-2.0
base_model: bert-base-uncased
---

# my-model

This model is a fine-tuned version of [bert-base-uncased](https://huggingface.co/bert-base-uncased).
Code: [training scripts](https://github.com/Me/My-Model/tree/main/train).

This model was trained using [transformers](https://github.com/huggingface/transformers).

### Framework versions

- Transformers 4.30.0 (https://github.com/huggingface/transformers)
- Tokenizers [0.13](https://github.com/huggingface/tokenizers)

## Notes

Our fork: https://github.com/me/my-model.git
"""


def test_trainer_boilerplate_is_a_library_mention() -> None:
    found = links_for_model(card_data={"license": "apache-2.0"}, card_text=TRAINER_CARD, author="me")
    by = _by(found.candidates)
    assert set(by) == {("Me/My-Model", KIND_CARD), ("huggingface/transformers", KIND_LIBRARY),
                       ("huggingface/tokenizers", KIND_LIBRARY)}
    own = by["Me/My-Model", KIND_CARD]
    assert (own.field, own.line, own.confidence) == ("card_text", 9, 1.0)
    assert own.evidence == "Code: [training scripts](https://github.com/Me/My-Model/tree/main/train)."
    lib = by["huggingface/transformers", KIND_LIBRARY]
    assert lib.line == 11 and lib.confidence == pytest.approx(LIBRARY_FACTOR)
    assert by["huggingface/tokenizers", KIND_LIBRARY].line == 16


@pytest.mark.parametrize("line", [
    "This model was trained with [TRL](https://github.com/huggingface/trl).",
    "This llama model was trained 2x faster with [Unsloth](https://github.com/unslothai/unsloth) and TRL.",
    '[<img src="https://raw.githubusercontent.com/OpenAccess-AI-Collective/axolotl/main/image/axolotl-badge-web.png" '
    'alt="Built with Axolotl" width="200" height="32"/>](https://github.com/OpenAccess-AI-Collective/axolotl)',
    '[<img src="https://raw.githubusercontent.com/wandb/assets/main/wandb-github-badge-28.svg" '
    'alt="Visualize in Weights & Biases" width="200" height="32"/>](https://wandb.ai/me/runs/1)',
    "This is a merge of pre-trained language models created using [mergekit](https://github.com/cg123/mergekit).",
    "This is a [SetFit](https://github.com/huggingface/setfit) model that can be used for Text Classification.",
    "This is a trained model of a **PPO** agent playing **LunarLander-v2** using the "
    "[stable-baselines3 library](https://github.com/DLR-RM/stable-baselines3).",
    "This model was trained using Sample-Factory 2.0: https://github.com/alex-petrenko/sample-factory.",
    "This modelcard aims to be a base template for new models. It has been generated using [this raw template]"
    "(https://github.com/huggingface/huggingface_hub/blob/main/src/huggingface_hub/templates/modelcard_template.md"
    "?plain=1).",
])
def test_tool_sentences_are_library_mentions(line: str) -> None:
    found = links_for_model(card_text=f"# card\n\n{line}\n", author="someone")
    assert found.candidates
    assert {c.kind for c in found.candidates} == {KIND_LIBRARY}


@pytest.mark.parametrize("line", [
    "The code for the distillation process can be found [here](https://github.com/huggingface/transformers/tree/main).",
    "This model was fine-tuned using [our training code](https://github.com/acme/finetune-kit).",
    "Trained with the scripts in https://github.com/acme/train-it.",
    "Install from [source](https://github.com/huggingface/transformers) first.",
    "[![CI](https://github.com/acme/tool/actions/workflows/ci.yml/badge.svg)](https://github.com/acme/tool/actions)",
])
def test_other_sentences_are_card_links(line: str) -> None:
    found = links_for_model(card_text=f"# card\n\n{line}\n", author="someone")
    assert found.candidates
    assert {c.kind for c in found.candidates} == {KIND_CARD}


def test_own_repository_is_never_a_library_mention() -> None:
    text = "This model was trained using [Acme-Trainer](https://github.com/acme/acme-trainer).\n"
    assert links_for_model(card_text=text, author="Acme").candidates[0].kind == KIND_CARD
    assert links_for_model(card_text=text, author="other").candidates[0].kind == KIND_LIBRARY


def test_card_data_walks_every_string_with_dotted_paths() -> None:
    card_data = {
        "license": "other",
        "github": "Acme/Code",  # bare owner/name: only under a key that says github
        "base_model": "acme/base-model",  # a Hub id, not a repository
        "model-index": [{"name": "m", "results": [{"dataset": {"name": "d", "source": {
            "url": "https://github.com/acme/benchmark/tree/main/data"}}}]}],
        "extra": {"links": ["https://github.com/acme/one", "see git.io/abc", 3, None, True]},
        "thumbnail": "https://raw.githubusercontent.com/acme/assets/main/thumb.png",
    }
    found = links_for_model(card_data=card_data)
    by = {c.repo.full_name: c for c in found.candidates}
    assert set(by) == {"Acme/Code", "acme/benchmark", "acme/one", "acme/assets"}
    assert by["Acme/Code"].field == "github" and by["Acme/Code"].confidence == 0.8
    assert by["acme/benchmark"].field == "model-index.results.dataset.source.url"
    assert by["acme/benchmark"].evidence == "https://github.com/acme/benchmark/tree/main/data"
    assert by["acme/one"].field == "extra.links"
    assert by["acme/assets"].confidence == 0.9
    assert all(c.kind == KIND_CARD and c.line is None for c in found.candidates)
    assert [r.reason for r in found.rejected] == [REASON_SHORT_LINK]


def test_long_field_paths_and_lines_are_trimmed() -> None:
    deep: dict[str, Any] = {"k" * 40: {"j" * 40: "https://github.com/a/b"}}
    candidate = links_for_model(card_data=deep).candidates[0]
    assert len(candidate.field) == 64
    long_line = "x" * 5000 + " https://github.com/a/b " + "y" * 5000
    candidate = links_for_model(card_text=long_line).candidates[0]
    assert len(candidate.evidence) <= EVIDENCE_CHARS and "https://github.com/a/b" in candidate.evidence


def test_one_candidate_per_repository_kind_and_field() -> None:
    text = "a https://github.com/Org/Repo\nb github.com/org/repo\nc https://github.com/ORG/REPO/issues\n"
    found = links_for_model(card_data={"code": "https://github.com/org/repo"}, card_text=text)
    assert [(c.repo.full_name, c.field, c.line) for c in found.candidates] == [
        ("org/repo", "code", None), ("Org/Repo", "card_text", 1)]


def test_the_surest_mention_is_kept() -> None:
    text = "[Colab](https://colab.research.google.com/github/a/b/blob/main/x.ipynb)\nrepo: https://github.com/a/b\n"
    (candidate,) = links_for_model(card_text=text).candidates
    assert (candidate.line, candidate.confidence) == (2, 1.0)


def test_hugging_face_urls_are_not_github() -> None:
    text = ("[model](https://huggingface.co/acme/github-model) "
            "[file](https://huggingface.co/acme/m/blob/main/github.com/x.md) "
            "![img](https://huggingface.co/datasets/huggingface/documentation-images/resolve/main/github.png)")
    assert links_for_model(card_text=text).candidates == ()


def test_line_numbers_count_crlf_and_front_matter() -> None:
    text = "---\r\nlicense: mit\r\nrepo: https://github.com/a/in-yaml\r\n---\r\n\r\nline six https://github.com/a/b\r\n"
    found = links_for_model(card_data={"license": "mit", "repo": "https://github.com/a/in-yaml"}, card_text=text)
    assert [(c.repo.full_name, c.field, c.line, c.evidence) for c in found.candidates] == [
        ("a/in-yaml", "repo", None, "https://github.com/a/in-yaml"),
        ("a/b", "card_text", 6, "line six https://github.com/a/b")]


def test_pytorch_hub_declarations() -> None:
    entrypoints = [
        {"repo": "NVIDIA/DeepLearningExamples", "ref": "torchhub", "entrypoint": "nvidia_ssd", "file": "nvidia.md",
         "line": 40, "args": [], "kwargs": {}, "commented": False},
        {"repo": "nvidia/deeplearningexamples", "ref": None, "entrypoint": "nvidia_ssd", "file": "other.md",
         "line": 3, "args": [], "kwargs": {}, "commented": True},
    ]
    card = "---\ngithub-link: https://github.com/NVIDIA/DeepLearningExamples/tree/master/PyTorch\n---\n"
    found = links_for_model(github_repo="NVIDIA/DeepLearningExamples", entrypoints=entrypoints, card_text=card)
    assert [(c.kind, c.field, c.line, c.evidence, c.confidence) for c in found.candidates] == [
        (KIND_HUB, "github_repo", None, "github_repo: NVIDIA/DeepLearningExamples", 1.0),
        (KIND_HUB, "entrypoint", 40,
         "torch.hub.load('NVIDIA/DeepLearningExamples:torchhub', 'nvidia_ssd') in nvidia.md", 1.0),
        (KIND_CARD, "card_text", 2, "github-link: https://github.com/NVIDIA/DeepLearningExamples/tree/master/PyTorch",
         1.0),
    ]
    assert {c.repo.key for c in found.candidates} == {"nvidia/deeplearningexamples"}


def test_nothing_to_link() -> None:
    found = links_for_model(card_data={}, card_text="", github_repo=None, entrypoints=[])
    assert found.candidates == () and found.rejected == ()
    assert links_for_model(github_repo="not a repo").candidates == ()
