"""One small card per extraction rule, shaped like the cards the Hub's tools and authors write."""

from __future__ import annotations

from typing import Any

import pytest

from ptmscope.cards.extract import DeterministicExtractor, extract_card
from ptmscope.cards.schema import FIELDS, CardExtractor


def meta(text: str, **kwargs: Any) -> dict[str, Any]:
    return extract_card(text, **kwargs).metadata()


TRAINER_CARD = """---
license: apache-2.0
tags:
- generated_from_trainer
datasets:
- imdb
metrics:
- accuracy
model-index:
- name: distilbert-imdb
  results: []
---

<!-- This model card has been generated automatically according to the information the Trainer had access to. -->

# distilbert-imdb

This model is a fine-tuned version of [distilbert-base-uncased](https://huggingface.co/distilbert-base-uncased) \
on the imdb dataset.
It achieves the following results on the evaluation set:
- Loss: 0.2312
- Accuracy: 0.9313

## Model description

More information needed

## Intended uses & limitations

More information needed

## Training procedure

### Training hyperparameters

The following hyperparameters were used during training:
- learning_rate: 2e-05
- train_batch_size: 16
- optimizer: Adam with betas=(0.9,0.999) and epsilon=1e-08
- num_epochs: 2

### Training results

| Training Loss | Epoch | Step | Validation Loss | Accuracy |
|:-------------:|:-----:|:----:|:---------------:|:--------:|
| 0.2304        | 1.0   | 1563 | 0.1952          | 0.9256   |
| 0.1501        | 2.0   | 3126 | 0.2312          | 0.9313   |

### Framework versions

- Transformers 4.20.1
- Pytorch 1.11.0+cu113
"""


def test_extractor_implements_the_protocol() -> None:
    extractor: CardExtractor = DeterministicExtractor()
    assert extractor.name == "rules"
    result = extractor.extract(TRAINER_CARD, model_id="someone/distilbert-imdb")
    assert set(result.metadata()) == set(FIELDS)


def test_trainer_card() -> None:
    result = extract_card(TRAINER_CARD)
    m = result.metadata()
    assert m["license"] == "apache-2.0"
    assert result.fields["license"].extractor == "yaml"
    assert result.fields["license"].confidence >= 0.95
    assert m["datasets"] == ["imdb"]
    assert m["base_models"] == ["distilbert-base-uncased"]
    assert m["base_model_relation"] == "finetune"
    assert m["hyper_parameters"] == {"learning_rate": "2e-05", "train_batch_size": "16",
                                     "optimizer": "Adam with betas=(0.9,0.999) and epsilon=1e-08", "num_epochs": "2"}
    # The final numbers, not the per-epoch log.
    assert m["evaluation"] == [{"dataset": "evaluation set", "metric": "Loss", "value": 0.2312},
                               {"dataset": "evaluation set", "metric": "Accuracy", "value": 0.9313}]
    # "More information needed" is a placeholder, not a limitations section.
    assert m["limitations"] is None
    assert m["frameworks"] == ["pytorch"]
    assert result.fields["evaluation"].extractor == "rules"
    assert result.fields["evaluation"].evidence


def test_license_other_with_name_and_prose_license() -> None:
    assert meta("---\nlicense: other\nlicense_name: jamba-open-model-license\n---\n")["license"] == \
        "jamba-open-model-license"
    assert meta("---\nlicense: other\n---\n")["license"] == "other"
    assert meta("# M\n\nThis model is released under the MIT License.\n")["license"] == "mit"
    assert meta("# M\n\n## License\n\nApache License 2.0, see LICENSE.\n")["license"] == "apache-2.0"
    prose = extract_card("# M\n\nThe weights are licensed under the Apache 2.0 license.\n").fields["license"]
    assert prose.value == "apache-2.0" and prose.extractor == "rules" and prose.confidence < 0.95
    assert meta("# M\n\nCode is under review.\n")["license"] is None


def test_languages_yaml_and_prose() -> None:
    assert meta("---\nlanguage: fr\n---\n")["languages"] == ["fr"]
    assert meta("# M\n\n- **Language(s) (NLP):** English, French\n")["languages"] == ["en", "fr"]
    assert meta("# M\n\nThe models are available in English only.\n")["languages"] == ["en"]
    assert meta("# M\n\nA model.\n")["languages"] == []


def test_pipeline_tag_is_yaml_only() -> None:
    assert meta("---\npipeline_tag: text-generation\n---\n")["pipeline_tag"] == "text-generation"
    assert meta("---\ntags:\n- text-generation\n---\n")["pipeline_tag"] is None


def test_library_from_yaml_then_usage_snippet() -> None:
    assert meta("---\nlibrary_name: timm\n---\n")["library"] == "timm"
    snippet = "# M\n\n```python\nimport torch\nfrom sentence_transformers import SentenceTransformer\n```\n"
    assert meta(snippet)["library"] == "sentence-transformers"
    assert meta("# M\n\n```python\nfrom huggingface_sb3 import load_from_hub\n```\n")["library"] == "stable-baselines3"
    assert meta("# M\n\n```\n>>> from transformers import pipeline\n```\n")["library"] == "transformers"
    assert meta("# M\n\n```python\nimport numpy as np\n```\n")["library"] is None


@pytest.mark.parametrize(("text", "models"), [
    ("---\nbase_model: meta-llama/Llama-2-7b-hf\n---\n", ["meta-llama/Llama-2-7b-hf"]),
    ("---\nbase_model:\n- a/x\n- b/y\nbase_model_relation: merge\n---\n", ["a/x", "b/y"]),
    ("# M\n\nThis model is a fine-tuned version of [x](https://huggingface.co/org/x) on the None dataset.\n",
     ["org/x"]),
    ("# M\n\nA Dutch model based on bert-base-uncased, trained on news.\n", ["bert-base-uncased"]),
    ("# M\n\n- **Finetuned from model [optional]:** mistralai/Mistral-7B-v0.1\n", ["mistralai/Mistral-7B-v0.1"]),
    ("# M\n\n```\npython run_glue.py --model_name_or_path roberta-large --do_train\n```\n", ["roberta-large"]),
    ("# M\n\nThis model was initialized with *CodeGen-Multi 6B* and further pre-trained.\n", ["CodeGen-Multi 6B"]),
    ("# M\n\nA fantasy model, using Stable Diffusion v1.5 as a base model.\n", ["Stable Diffusion v1.5"]),
    ("# M\n\nThis is a Stable Diffusion model fine-tuned on frogs.\n", ["Stable Diffusion"]),
    ("# M\n\nWe compare against bert-base-uncased.\n", []),
])
def test_base_models(text: str, models: list[str]) -> None:
    assert meta(text)["base_models"] == models


def test_base_model_relation() -> None:
    assert meta("---\nbase_model: a/b\nbase_model_relation: merge\n---\n")["base_model_relation"] == "merge"
    assert meta("---\nbase_model: a/b\nlibrary_name: peft\n---\n")["base_model_relation"] == "adapter"
    assert meta("---\nbase_model: a/b\ntags:\n- gguf\n---\n")["base_model_relation"] == "quantized"
    assert meta("---\nbase_model: a/b\n---\n")["base_model_relation"] == "finetune"
    assert meta("# no base\n")["base_model_relation"] is None


def test_api_tags_win_over_yaml() -> None:
    result = extract_card("---\nbase_model: old/name\n---\n",
                          api_tags=["base_model:quantized:org/model", "base_model:org/model", "license:mit"])
    assert result.metadata()["base_models"] == ["org/model"]
    assert result.metadata()["base_model_relation"] == "quantized"
    assert result.fields["base_models"].extractor == "api"


def test_github_repos() -> None:
    text = ("# M\n\nCode: [repo](https://github.com/Org/Repo.git), also git@github.com:org/repo and "
            "https://github.com/other/thing/blob/main/train.py. Author: https://github.com/someone . "
            "Gist https://gist.github.com/a/b and https://colab.research.google.com/github/x/y/blob/main/n.ipynb\n")
    assert meta(text)["github_repos"] == ["org/repo", "other/thing"]


def test_papers() -> None:
    text = ("---\ntags:\n- arxiv:1810.04805\n---\n# M\n\nSee https://arxiv.org/abs/1910.10655v2 and "
            "[pdf](https://arxiv.org/pdf/2106.09685.pdf), arXiv:2203.13474 and doi:10.57967/HF/1098 and "
            "https://dl.acm.org/doi/pdf/10.1145/3442188.3445922.\n\n```bibtex\n@article{x, eprint={2007.13184}}\n```\n")
    assert meta(text)["papers"] == ["1810.04805", "1910.10655", "2106.09685", "2203.13474", "2007.13184",
                                    "doi:10.57967/hf/1098", "doi:10.1145/3442188.3445922"]


@pytest.mark.parametrize(("text", "count"), [
    ("# M\n\nThe model has 110M parameters.\n", 110_000_000),
    ("# M\n\nA 1.3 billion parameter model.\n", 1_300_000_000),
    ("# M\n\nIt has 340 million parameters.\n", 340_000_000),
    ("# M\n\n| Hyperparameter | Value |\n|---|---|\n| n_parameters | 6,053,381,344 |\n", 6_053_381_344),
    ('# M\n\n"6B" refers to the number of trainable parameters.\n', 6_000_000_000),
    ("# M\n\nOutperforms models demanding 7B parameters.\n", None),
    ("# M\n\nTrained for 3 epochs.\n", None),
])
def test_parameter_count(text: str, count: int | None) -> None:
    assert meta(text)["parameter_count"] == count


def test_parameter_count_from_a_table_row_naming_the_model() -> None:
    text = ("# CamemBERT\n\n| Model | #params | Arch. |\n|---|---|---|\n| camembert-base | 110M | Base |\n"
            "| camembert/camembert-large | 335M | Large |\n")
    assert meta(text, model_id="camembert/camembert-large")["parameter_count"] == 335_000_000


def test_evaluation_from_model_index() -> None:
    text = ("---\nmodel-index:\n- name: PPO\n  results:\n  - task:\n      type: reinforcement-learning\n"
            "    dataset:\n      name: LunarLander-v2\n      type: LunarLander-v2\n    metrics:\n"
            "    - type: mean_reward\n      value: 235.82 +/- 34.79\n      name: mean_reward\n---\n")
    result = extract_card(text)
    assert result.metadata()["evaluation"] == [{"dataset": "LunarLander-v2", "metric": "mean_reward", "value": 235.82}]
    assert result.fields["evaluation"].extractor == "yaml"


def test_evaluation_picks_this_models_row_not_baselines() -> None:
    text = ("# gpt-j-6b\n\n## Evaluation results\n\n| Model | LAMBADA PPL ↓ | Winogrande ↑ | Training FLOPs |\n"
            "|---|---|---|---|\n| GPT-2 1.5B | 10.63 | 59.4 | 1e21 |\n| GPT-J 6B | 3.99 | 65.3 | 1.5e22 |\n")
    assert meta(text, model_id="EleutherAI/gpt-j-6b")["evaluation"] == [
        {"dataset": "LAMBADA", "metric": "PPL", "value": 3.99},
        {"dataset": "Winogrande", "metric": None, "value": 65.3},
    ]


def test_evaluation_picks_this_models_column() -> None:
    text = ("# Gemma\n\n## Benchmark Results\n\n| Benchmark | Metric | 2B Params | 7B Params |\n|---|---|---|---|\n"
            "| MMLU | 5-shot | 42.3 | 64.3 |\n| PIQA | 0-shot | 77.3 | 81.2 |\n")
    assert meta(text, model_id="google/gemma-7b")["evaluation"] == [
        {"dataset": "MMLU", "metric": "5-shot", "value": 64.3},
        {"dataset": "PIQA", "metric": "0-shot", "value": 81.2},
    ]


def test_evaluation_metric_rows_and_classification_reports() -> None:
    rows = "# M\n\n## Eval results\n\n| metric | dev | test |\n|---|---|---|\n| f1 | 95.7 | 91.7 |\n"
    assert meta(rows)["evaluation"] == [{"dataset": "dev", "metric": "f1", "value": 95.7},
                                        {"dataset": "test", "metric": "f1", "value": 91.7}]
    report = ("# M\n\n## Eval result\n\n```\n              precision    recall  f1-score   support\n\n"
              "     Fiction       0.91      0.88      0.90       296\n\n    accuracy                           0.93"
              "       850\n```\n")
    assert meta(report)["evaluation"] == [
        {"dataset": None, "metric": "Fiction precision", "value": 0.91},
        {"dataset": None, "metric": "Fiction recall", "value": 0.88},
        {"dataset": None, "metric": "Fiction f1-score", "value": 0.90},
        {"dataset": None, "metric": "accuracy", "value": 0.93},
    ]
    printed = "# M\n\n**Results**:\n\n{'exact': 67.38, 'f1': 71.36, 'total': 9669, 'best_f1_thresh': 0.0}\n"
    assert meta(printed)["evaluation"] == [{"dataset": None, "metric": "exact", "value": 67.38},
                                           {"dataset": None, "metric": "f1", "value": 71.36}]


def test_no_evaluation_from_training_logs() -> None:
    text = "# M\n\n### Training results\n\n| Epoch | Validation Loss |\n|---|---|\n| 1 | 0.3 |\n"
    assert meta(text)["evaluation"] == []


def test_hyper_parameters_rl_dumps_and_tables() -> None:
    sb3 = ("# A2C\n\n## Hyperparameters\n```python\nOrderedDict([('gamma', 0.99),\n"
           "             ('learning_rate', 'lin_0.00096'),\n             ('normalize', True)])\n```\n")
    assert meta(sb3)["hyper_parameters"] == {"gamma": "0.99", "learning_rate": "lin_0.00096", "normalize": "True"}
    cleanrl = ("# M\n\n# Hyperparameters\n```python\n{'batch_size': 128,\n 'env_id': 'Acrobot-v1',\n"
               " 'track': False}\n```\n")
    assert meta(cleanrl)["hyper_parameters"] == {"batch_size": "128", "env_id": "Acrobot-v1", "track": "False"}
    table = ("# M\n\nWe fine-tune with the following hyperparameters:\n\n| Hyperparameter | StarCoder-15B |\n"
             "|---|---|\n| Batch size | 512 |\n| Learning rate | 2e-5 |\n")
    assert meta(table)["hyper_parameters"] == {"batch_size": "512", "learning_rate": "2e-5"}
    skrl = ('# M\n\n# Hyperparameters\n\n```python\ncfg = PPO_DEFAULT_CONFIG.copy()\ncfg["rollouts"] = 32  # memory\n'
            'cfg["learning_rate"] = 3e-4\ncfg["experiment"]["write_interval"] = 80\n```\n')
    assert meta(skrl)["hyper_parameters"] == {"rollouts": "32", "learning_rate": "3e-4", "write_interval": "80"}


def test_hyper_parameters_from_a_training_command() -> None:
    text = ("# M\n\nTrained with:\n\n```bash\npython run_squad.py --model_type electra --learning_rate 3e-5 "
            "--num_train_epochs 3 --output_dir /tmp/out --do_train\n```\n")
    assert meta(text)["hyper_parameters"] == {"learning_rate": "3e-5", "num_train_epochs": "3"}
    assert meta("# M\n\n```bash\npip install --upgrade torch\n```\n")["hyper_parameters"] == {}


def test_hardware() -> None:
    assert meta("# M\n\n- **Hardware Type:** 8 x A100 80GB\n")["hardware"] == "8 x A100 80GB"
    assert meta("# M\n\n- **Hardware Type:** [More Information Needed]\n")["hardware"] is None
    assert meta("# M\n\nThis model was trained on a single NVIDIA V100 GPU with default settings.\n")["hardware"] == \
        "single NVIDIA V100 GPU"
    assert meta("# M\n\nYou can run the model on a single 80GB GPU for inference.\n")["hardware"] is None


def test_carbon() -> None:
    assert meta("---\nco2_eq_emissions:\n  emissions: 149.2\n---\n")["carbon_emitted"] == "149.2"
    assert meta("---\nco2_eq_emissions: 0.198\n---\n")["carbon_emitted"] == "0.198"
    assert meta("# M\n\n- **Carbon Emitted:** 15000 kg CO2 eq.\n")["carbon_emitted"] == "15000 kg CO2 eq."
    assert meta("# M\n\n- **Carbon Emitted:** [More Information Needed]\n")["carbon_emitted"] is None


def test_limitations_and_biases() -> None:
    text = ("# M\n\n## Limitations and bias\n\nThe model is limited by its training data and may reproduce "
            "gender stereotypes present in it.\n")
    m = meta(text)
    assert m["limitations"] and m["biases"]
    only_limits = "# M\n\n## Limitations\n\nIt was only trained on news text from 2016.\n"
    assert meta(only_limits)["limitations"] and meta(only_limits)["biases"] is None
    template = "# M\n\n## Bias, Risks, and Limitations\n\n[More Information Needed]\n"
    assert meta(template)["limitations"] is None and meta(template)["biases"] is None
    paragraph = "# M\n\nUse with caution: the model is not fully trained.\n"
    assert meta(paragraph)["limitations"]


def test_demo_links() -> None:
    assert meta("# M\n\nTry the [demo](https://huggingface.co/spaces/org/demo).\n")["demo"] == \
        "https://huggingface.co/spaces/org/demo"
    # A leaderboard or a training space is not a demo of this model.
    assert meta("# M\n\nSee https://huggingface.co/spaces/HuggingFaceH4/open_llm_leaderboard\n")["demo"] is None
    assert meta("# M\n\nTrained with [Dreambooth Training Space](https://huggingface.co/spaces/a/dreambooth-training)"
                "\n")["demo"] is None
    colab = "https://colab.research.google.com/drive/1abc"
    assert meta(f"# M\n\nTry it on [colab]({colab})\n")["demo"] == colab
    assert meta(f"# M\n\nFine-tune it with [this notebook]({colab})\n")["demo"] is None


def test_datasets_from_prose() -> None:
    trainer = "# M\n\nThis model is a fine-tuned version of [x](https://huggingface.co/x) on the squad_v2 dataset.\n"
    assert meta(trainer)["datasets"] == ["squad_v2"]
    unknown = "# M\n\nThis model is a fine-tuned version of [x](https://huggingface.co/x) on an unknown dataset.\n"
    assert meta(unknown)["datasets"] == []
    linked = "# M\n\n## Training data\n\nWe used [CelebA-HQ](https://huggingface.co/datasets/huggan/CelebA-HQ).\n"
    assert meta(linked)["datasets"] == ["huggan/CelebA-HQ"]
    assert meta("# M\n\n- **Training data**: [wiki2019zh_corpus](https://example.org/c)\n")["datasets"] == \
        ["wiki2019zh_corpus"]
    assert meta("# M\n\nThe model was pre-trained on the [C4 corpus](https://example.org/c4) for 1M steps.\n")[
        "datasets"] == ["C4 corpus"]
    assert meta("# M\n\nYou can fine-tune this model on the GLUE dataset.\n")["datasets"] == []


def test_domain_and_grant() -> None:
    m = meta("---\npipeline_tag: image-classification\n---\n# M\n\n- **Funded by [optional]:** NSF grant 123\n")
    assert m["domain"] == "CV"
    assert m["grant"] == "NSF grant 123"


def test_evidence_is_short() -> None:
    text = "# M\n\nThis model is released under the MIT License. " + "word " * 500 + "\n"
    evidence = extract_card(text).fields["license"].evidence
    assert evidence is not None and len(evidence) <= 160


def test_datasets_listed_in_a_training_sentence() -> None:
    assert meta("# M\n\nTrained on Oscar + wikipedia + opensubtitles + some other data I had.\n")["datasets"] == \
        ["Oscar", "wikipedia", "opensubtitles"]
    assert meta("# M\n\nThis is a fine tuned RoBERTa model over STS-B.\n")["datasets"] == ["STS-B"]
    assert meta("# M\n\nThe data was scraped from [Horoscope.com](https://www.horoscope.com/us) in 2020.\n")[
        "datasets"] == ["Horoscope.com"]
    # Lower-case words alone are the sentence, not names; sizes and hardware are not datasets either.
    assert meta("# M\n\nIt was trained on news, blogs and forums for 3 days.\n")["datasets"] == []
    assert meta("# M\n\nTrained on 8 A100 GPUs and TPUs.\n")["datasets"] == []


def test_datasets_from_a_family_table() -> None:
    text = ("# CamemBERT\n\n| Model | #params | Training data |\n|---|---|---|\n"
            "| camembert-base | 110M | OSCAR (138 GB) |\n"
            "| camembert/camembert-large | 335M | CCNet (135 GB of text) |\n")
    assert meta(text, model_id="camembert/camembert-large")["datasets"] == ["CCNet"]
    described = "# M\n\n| Model | Training Data |\n|---|---|\n| M | A new mix of online data |\n"
    assert meta(described, model_id="o/M")["datasets"] == []


def test_trained_from_scratch_has_no_base_model() -> None:
    assert meta("# M\n\nThis model was trained from scratch on Basque text.\n")["base_models"] == []
    assert meta("# M\n\nThe model was initialized from the weights of the teacher.\n")["base_models"] == []


def test_gpu_hours_are_not_hardware() -> None:
    assert meta("# M\n\nPretraining used 3.3M GPU hours of computation on type H100-80GB hardware.\n")["hardware"] \
        != "3M GPU"
    assert meta("# M\n\nTraining took 1024 GPU hours.\n")["hardware"] is None


def test_sections_heading_tree_tables_and_links() -> None:
    from ptmscope.cards.sections import parse

    doc = parse("intro [a](https://x.org)\n\n# Top\n\n## Sub\n\n- one: 1\n- two: 2\n\n### Deep\n\n"
                "<table><tr><th>Model</th><th>F1</th></tr><tr><td>m</td><td>0.9</td></tr></table>\n\n# Next\n\ntext\n")
    assert [s.title for s in doc.sections] == ["", "Top", "Sub", "Deep", "Next"]
    assert doc.path(3) == ["Top", "Sub", "Deep"]
    assert doc.within(1) == {1, 2, 3}
    lists = [b for b in doc.blocks if b.kind == "list"]
    assert lists[0].items == ["one: 1", "two: 2"] and lists[0].section == 2
    table = next(b for b in doc.blocks if b.kind == "table")
    assert (table.header, table.rows, table.section) == (["Model", "F1"], [["m", "0.9"]], 3)
    assert doc.links[0].href == "https://x.org" and doc.links[0].section == 0
    assert "one: 1" in doc.section_text(1)
