"""Deterministic synthetic Hugging Face Hub model records, model cards and commit histories.

The real Hub data may not be redistributed, so the offline demo corpus, the tests and the large
benchmarks run on records generated here. A record has the shape of the body of
``GET /api/models/{id}?blobs=true`` (what ``HfApi.model_info(files_metadata=True)`` reads): the same
keys in the same order, siblings with ``size``/``blobId``/``lfs``, and the same sparseness as the real
listings (about a quarter of models have no card metadata, four in ten no library, no pipeline tag).

Record ``i`` of seed ``s`` depends on nothing but ``(s, i)``: :func:`record_rng` gives the random stream
and :func:`generate_model` consumes it, so a server can rebuild any single record without the others
and a benchmark can split a corpus across processes by index range. The ``(author, name)`` part of an
id is derived from the index through a bijection, which is what makes every id in a corpus unique
without a global registry. :func:`generate_card` and :func:`generate_commits` derive a README.md and a
commit history from a record; :func:`malform` breaks a record the ways real responses are broken.
"""

from __future__ import annotations

import bisect
import calendar
import copy
import functools
import hashlib
import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Generic, TypeVar

import yaml

__all__ = [
    "DEFAULT_BASE_TIME",
    "DEFAULT_CARD_EDGE_RATE",
    "DEFAULT_MALFORMED_RATE",
    "HUB_CREATION_EPOCH",
    "LFS_SUFFIXES",
    "MALFORMATIONS",
    "MAX_INDEX",
    "generate_card",
    "generate_commits",
    "generate_model",
    "generate_models",
    "is_lfs_path",
    "malform",
    "record_rng",
]

Record = dict[str, Any]
T = TypeVar("T")

DEFAULT_BASE_TIME: Final = datetime(2025, 6, 1, tzinfo=UTC)
DEFAULT_MALFORMED_RATE: Final = 0.01
DEFAULT_CARD_EDGE_RATE: Final = 0.03
# Ids come from a bijection on 24-bit numbers; 16.7 million models is eight times the 2025 Hub.
MAX_INDEX: Final = 1 << 24

# The Hub started recording creation dates on this instant; older repositories all report it
# (with :04 or :05 seconds), however old their first commit is.
HUB_CREATION_EPOCH: Final = "2022-03-02T23:29:04.000Z"
_MIGRATION_TS: Final = 1646263744

# The Hub refuses binary files outside Git LFS, and model weights are binary; these are the
# suffixes whose files the generator stores in LFS.
LFS_SUFFIXES: Final = frozenset(
    {
        "bin", "ckpt", "cleanrl_model", "gguf", "h5", "jpg", "jpeg", "joblib", "keras", "model",
        "msgpack", "mp4", "nemo", "npy", "npz", "onnx", "ot", "pb", "pickle", "pkl", "png", "pt",
        "pth", "safetensors", "tflite", "wav", "whl", "zip",
    }
)


def is_lfs_path(path: str) -> bool:
    """Whether the generator stores ``path`` in Git LFS (TensorBoard logs and TF variable shards too)."""
    return (
        path.rpartition(".")[2] in LFS_SUFFIXES
        or "tfevents" in path
        or path.rpartition("/")[2].startswith("variables.data-")
    )


_LFS_SEEN: dict[str, bool] = {}


def _lfs(path: str) -> bool:
    # Most paths (config.json, model.safetensors, ...) recur in every other record; the memo is
    # bounded because run-specific names (TensorBoard logs) do not.
    flag = _LFS_SEEN.get(path)
    if flag is None:
        flag = is_lfs_path(path)
        if len(_LFS_SEEN) < 4096:
            _LFS_SEEN[path] = flag
    return flag


def _ts(day: str) -> int:
    return calendar.timegm(time.strptime(day, "%Y-%m-%d"))


def _iso(ts: int) -> str:
    t = time.gmtime(ts)
    return f"{t[0]:04d}-{t[1]:02d}-{t[2]:02d}T{t[3]:02d}:{t[4]:02d}:{t[5]:02d}.000Z"


class _Choice(Generic[T]):
    """Weighted choice with one ``random()`` draw, so the stream stays short and stable."""

    __slots__ = ("cum", "items", "total")

    def __init__(self, pairs: Sequence[tuple[T, float]]) -> None:
        self.items: tuple[T, ...] = tuple(item for item, _ in pairs)
        running = 0.0
        cum: list[float] = []
        for _, weight in pairs:
            running += weight
            cum.append(running)
        self.cum = cum
        self.total = running

    def pick(self, rng: random.Random) -> T:
        return self.items[bisect.bisect_right(self.cum, rng.random() * self.total)]


# ---------------------------------------------------------------------------------------------
# Vocabulary. Hub ids, dataset ids and licence ids are the public names people actually use; the
# rest (user names, topics, prose) is made up here.
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Base:
    """A public checkpoint people fine-tune; its facts shape every record derived from it."""

    id: str
    short: str  # what fine-tuners put into their own repository names
    model_type: str
    arch: str  # architecture class prefix, or the diffusers pipeline class
    kind: str
    params: int
    released: int
    license: str | None
    weight: float
    tok: str  # tokenizer / preprocessor file family
    legacy: bool = False  # also known by its pre-2024 un-namespaced id (``short``)


def _b(
    hub_id: str, model_type: str, arch: str, kind: str, params: int, released: str,
    license_id: str | None, weight: float, tok: str, *, legacy: bool = False,
) -> _Base:
    return _Base(
        hub_id, hub_id.rpartition("/")[2], model_type, arch, kind, params, _ts(released),
        license_id, weight, tok, legacy,
    )


_BASES: Final = (
    _b("google-bert/bert-base-uncased", "bert", "Bert", "enc", 110_106_428, "2018-11-01", "apache-2.0",
       10, "wp-uncased", legacy=True),
    _b("google-bert/bert-base-cased", "bert", "Bert", "enc", 108_310_272, "2018-11-01", "apache-2.0",
       4, "wp-cased", legacy=True),
    _b("google-bert/bert-base-multilingual-cased", "bert", "Bert", "enc", 177_853_440, "2018-11-23",
       "apache-2.0", 3, "wp-multi", legacy=True),
    _b("distilbert/distilbert-base-uncased", "distilbert", "DistilBert", "enc", 66_985_530,
       "2019-10-02", "apache-2.0", 12, "wp-uncased", legacy=True),
    _b("distilbert/distilbert-base-cased", "distilbert", "DistilBert", "enc", 65_190_912, "2019-10-02",
       "apache-2.0", 2, "wp-cased", legacy=True),
    _b("FacebookAI/roberta-base", "roberta", "Roberta", "enc", 124_645_632, "2019-08-01", "mit", 6,
       "bpe-roberta", legacy=True),
    _b("FacebookAI/roberta-large", "roberta", "Roberta", "enc", 355_359_744, "2019-08-01", "mit", 2,
       "bpe-roberta", legacy=True),
    _b("FacebookAI/xlm-roberta-base", "xlm-roberta", "XLMRoberta", "enc", 278_043_648, "2019-11-05",
       "mit", 4, "spm-xlmr", legacy=True),
    _b("microsoft/deberta-v3-base", "deberta-v2", "DebertaV2", "enc", 184_423_682, "2021-11-18", "mit",
       4, "spm-deberta"),
    _b("albert/albert-base-v2", "albert", "Albert", "enc", 11_683_584, "2019-12-20", "apache-2.0", 1,
       "spm-albert", legacy=True),
    _b("google/electra-base-discriminator", "electra", "Electra", "enc", 108_891_648, "2020-04-20",
       "apache-2.0", 1, "wp-uncased"),
    _b("dmis-lab/biobert-v1.1", "bert", "Bert", "enc", 108_340_804, "2020-05-01", None, 0.5, "wp-cased"),
    _b("answerdotai/ModernBERT-base", "modernbert", "ModernBert", "enc", 149_655_232, "2024-12-19",
       "apache-2.0", 1, "bpe-modernbert"),
    _b("almanach/camembert-base", "camembert", "Camembert", "enc", 110_621_952, "2020-01-10", "mit", 0.5,
       "spm-camembert", legacy=True),
    _b("openai-community/gpt2", "gpt2", "GPT2", "dec", 124_439_808, "2019-02-18", "mit", 6, "bpe-gpt2",
       legacy=True),
    _b("distilbert/distilgpt2", "gpt2", "GPT2", "dec", 81_912_576, "2019-10-02", "apache-2.0", 2,
       "bpe-gpt2", legacy=True),
    _b("openai-community/gpt2-medium", "gpt2", "GPT2", "dec", 354_823_168, "2019-08-21", "mit", 1,
       "bpe-gpt2", legacy=True),
    _b("EleutherAI/gpt-neo-125m", "gpt_neo", "GPTNeo", "dec", 125_198_592, "2021-03-21", "mit", 1,
       "bpe-gpt2"),
    _b("facebook/opt-350m", "opt", "OPT", "dec", 331_196_416, "2022-05-11", "other", 1, "bpe-gpt2"),
    _b("EleutherAI/pythia-160m", "gpt_neox", "GPTNeoX", "dec", 162_322_944, "2023-02-08", "apache-2.0", 1,
       "bpe-neox"),
    _b("meta-llama/Llama-2-7b-hf", "llama", "Llama", "dec", 6_738_415_616, "2023-07-18", "llama2", 3,
       "spm-llama"),
    _b("meta-llama/Llama-2-7b-chat-hf", "llama", "Llama", "dec", 6_738_415_616, "2023-07-18", "llama2", 2,
       "spm-llama"),
    _b("meta-llama/Meta-Llama-3-8B-Instruct", "llama", "Llama", "dec", 8_030_261_248, "2024-04-18",
       "llama3", 3, "tt-llama3"),
    _b("meta-llama/Llama-3.1-8B-Instruct", "llama", "Llama", "dec", 8_030_261_248, "2024-07-23",
       "llama3.1", 3, "tt-llama3"),
    _b("meta-llama/Llama-3.2-1B-Instruct", "llama", "Llama", "dec", 1_235_814_400, "2024-09-25",
       "llama3.2", 2, "tt-llama3"),
    _b("mistralai/Mistral-7B-v0.1", "mistral", "Mistral", "dec", 7_241_732_096, "2023-09-27", "apache-2.0",
       3, "spm-mistral"),
    _b("mistralai/Mistral-7B-Instruct-v0.2", "mistral", "Mistral", "dec", 7_241_732_096, "2023-12-11",
       "apache-2.0", 2, "spm-mistral"),
    _b("Qwen/Qwen2.5-7B-Instruct", "qwen2", "Qwen2", "dec", 7_615_616_512, "2024-09-19", "apache-2.0", 3,
       "bpe-qwen"),
    _b("Qwen/Qwen2.5-0.5B-Instruct", "qwen2", "Qwen2", "dec", 494_032_768, "2024-09-19", "apache-2.0", 2,
       "bpe-qwen"),
    _b("google/gemma-2b", "gemma", "Gemma", "dec", 2_506_172_416, "2024-02-21", "gemma", 1.5, "spm-gemma"),
    _b("google/gemma-2-9b-it", "gemma2", "Gemma2", "dec", 9_241_705_984, "2024-06-27", "gemma", 1,
       "spm-gemma"),
    _b("microsoft/phi-2", "phi", "Phi", "dec", 2_779_683_840, "2023-12-13", "mit", 1, "bpe-gpt2"),
    _b("TinyLlama/TinyLlama-1.1B-Chat-v1.0", "llama", "Llama", "dec", 1_100_048_384, "2023-12-30",
       "apache-2.0", 1.5, "spm-llama"),
    _b("HuggingFaceTB/SmolLM2-135M-Instruct", "llama", "Llama", "dec", 134_515_008, "2024-10-31",
       "apache-2.0", 1, "bpe-smol"),
    _b("bigscience/bloom-560m", "bloom", "Bloom", "dec", 559_214_592, "2022-05-19",
       "bigscience-bloom-rail-1.0", 1, "bpe-bloom"),
    _b("tiiuae/falcon-7b", "falcon", "Falcon", "dec", 6_921_720_704, "2023-04-24", "apache-2.0", 0.5,
       "bpe-falcon"),
    _b("microsoft/DialoGPT-medium", "gpt2", "GPT2", "dec", 354_823_168, "2020-05-01", "mit", 1, "bpe-gpt2"),
    _b("google-t5/t5-small", "t5", "T5", "s2s", 60_506_624, "2019-10-23", "apache-2.0", 5, "spm-t5",
       legacy=True),
    _b("google-t5/t5-base", "t5", "T5", "s2s", 222_903_552, "2019-10-23", "apache-2.0", 3, "spm-t5",
       legacy=True),
    _b("google/flan-t5-base", "t5", "T5", "s2s", 247_577_856, "2022-10-21", "apache-2.0", 3, "spm-t5"),
    _b("facebook/bart-large-cnn", "bart", "Bart", "s2s", 406_290_432, "2020-03-01", "mit", 2, "bpe-roberta"),
    _b("facebook/bart-base", "bart", "Bart", "s2s", 139_420_416, "2020-03-01", "apache-2.0", 2,
       "bpe-roberta"),
    _b("google/mt5-small", "mt5", "MT5", "s2s", 300_176_768, "2020-10-22", "apache-2.0", 2, "spm-mt5"),
    _b("Helsinki-NLP/opus-mt-en-de", "marian", "Marian", "s2s", 73_886_208, "2020-05-14", "cc-by-4.0", 2,
       "spm-marian"),
    _b("facebook/mbart-large-50", "mbart", "MBart", "s2s", 610_879_488, "2021-01-05", "mit", 1, "spm-xlmr"),
    _b("google/pegasus-xsum", "pegasus", "Pegasus", "s2s", 569_748_480, "2020-07-01", None, 1, "spm-t5"),
    _b("google/vit-base-patch16-224-in21k", "vit", "ViT", "img", 86_389_248, "2021-01-25", "apache-2.0", 4,
       "pp-vision"),
    _b("google/vit-base-patch16-224", "vit", "ViT", "img", 86_567_656, "2021-01-25", "apache-2.0", 2,
       "pp-vision"),
    _b("microsoft/resnet-50", "resnet", "ResNet", "img", 25_557_032, "2022-03-16", "apache-2.0", 1.5,
       "pp-vision"),
    _b("facebook/convnext-tiny-224", "convnext", "ConvNext", "img", 28_589_128, "2022-02-23", "apache-2.0",
       1, "pp-vision"),
    _b("microsoft/swin-tiny-patch4-window7-224", "swin", "Swin", "img", 28_288_354, "2021-12-10",
       "apache-2.0", 1.5, "pp-vision"),
    _b("facebook/detr-resnet-50", "detr", "Detr", "det", 41_631_008, "2021-01-14", "apache-2.0", 1,
       "pp-vision"),
    _b("nvidia/mit-b0", "segformer", "Segformer", "seg", 3_319_392, "2021-11-01", "other", 1, "pp-vision"),
    _b("facebook/wav2vec2-base", "wav2vec2", "Wav2Vec2", "ctc", 95_044_608, "2021-02-01", "apache-2.0", 2,
       "w2v"),
    _b("facebook/wav2vec2-xls-r-300m", "wav2vec2", "Wav2Vec2", "ctc", 315_438_720, "2021-11-17",
       "apache-2.0", 3, "w2v"),
    _b("facebook/wav2vec2-large-xlsr-53", "wav2vec2", "Wav2Vec2", "ctc", 315_438_720, "2021-03-04",
       "apache-2.0", 1.5, "w2v"),
    _b("openai/whisper-small", "whisper", "Whisper", "whisper", 241_734_912, "2022-09-26", "apache-2.0", 4,
       "whisper"),
    _b("openai/whisper-tiny", "whisper", "Whisper", "whisper", 37_760_640, "2022-09-26", "apache-2.0", 2,
       "whisper"),
    _b("openai/whisper-large-v3", "whisper", "Whisper", "whisper", 1_543_490_560, "2023-11-08",
       "apache-2.0", 1.5, "whisper"),
    _b("MIT/ast-finetuned-audioset-10-10-0.4593", "audio-spectrogram-transformer", "AST", "aud",
       86_595_606, "2022-11-14", "bsd-3-clause", 1, "pp-audio"),
    _b("facebook/hubert-base-ls960", "hubert", "Hubert", "aud", 94_371_712, "2021-06-01", "apache-2.0", 1,
       "pp-audio"),
    _b("Salesforce/blip-image-captioning-base", "blip", "Blip", "cap", 247_414_076, "2022-12-12",
       "bsd-3-clause", 1, "bpe-blip"),
    _b("microsoft/git-base", "git", "Git", "cap", 176_619_066, "2022-12-06", "mit", 0.5, "wp-uncased"),
    _b("llava-hf/llava-1.5-7b-hf", "llava", "Llava", "vlm", 7_063_427_072, "2023-12-05", "llama2", 0.5,
       "spm-llama"),
    _b("Qwen/Qwen2-VL-7B-Instruct", "qwen2_vl", "Qwen2VL", "vlm", 8_291_375_616, "2024-08-30",
       "apache-2.0", 1, "bpe-qwen"),
    _b("microsoft/speecht5_tts", "speecht5", "SpeechT5", "tts", 144_433_921, "2023-02-02", "mit", 1,
       "spm-speecht5"),
    _b("sentence-transformers/all-MiniLM-L6-v2", "bert", "Bert", "st", 22_713_216, "2021-08-30",
       "apache-2.0", 4, "wp-uncased"),
    _b("sentence-transformers/all-mpnet-base-v2", "mpnet", "MPNet", "st", 109_486_464, "2021-08-30",
       "apache-2.0", 3, "bpe-mpnet"),
    _b("BAAI/bge-small-en-v1.5", "bert", "Bert", "st", 33_360_000, "2023-09-12", "mit", 2, "wp-uncased"),
    _b("intfloat/multilingual-e5-base", "xlm-roberta", "XLMRoberta", "st", 278_043_648, "2023-06-30",
       "mit", 1, "spm-xlmr"),
    _b("runwayml/stable-diffusion-v1-5", "", "StableDiffusionPipeline", "sd", 859_520_964, "2022-10-20",
       "creativeml-openrail-m", 4, "sd"),
    _b("CompVis/stable-diffusion-v1-4", "", "StableDiffusionPipeline", "sd", 859_520_964, "2022-08-20",
       "creativeml-openrail-m", 1, "sd"),
    _b("stabilityai/stable-diffusion-xl-base-1.0", "", "StableDiffusionXLPipeline", "sd", 2_567_463_684,
       "2023-07-25", "openrail++", 4, "sd"),
    _b("black-forest-labs/FLUX.1-dev", "", "FluxPipeline", "sd", 11_901_408_320, "2024-08-01", "other", 3,
       "sd"),
)

_BASE_BY_SHORT: Final = {b.short: b for b in _BASES}
_LEGACY_BASES: Final = _Choice([(b, b.weight) for b in _BASES if b.legacy])


class _BasePicker:
    """Weighted choice among the bases of one kind released before a given time."""

    def __init__(self, bases: Sequence[_Base]) -> None:
        self.bases = sorted(bases, key=lambda b: b.released)
        self.released = [b.released for b in self.bases]
        cum: list[float] = []
        running = 0.0
        for b in self.bases:
            running += b.weight
            cum.append(running)
        self.cum = cum

    def pick(self, rng: random.Random, before: int) -> _Base | None:
        available = bisect.bisect_right(self.released, before)
        if not available:
            return None
        x = rng.random() * self.cum[available - 1]
        return self.bases[min(bisect.bisect_right(self.cum, x), available - 1)]


_PICKERS: Final = {
    kind: _BasePicker([b for b in _BASES if b.kind == kind]) for kind in {b.kind for b in _BASES}
}


def _pick_base(rng: random.Random, kind: str, before: int) -> _Base:
    base = _PICKERS[kind].pick(rng, before)
    if base is None:  # nothing of that kind existed yet: people fine-tuned BERT
        base = _PICKERS["enc"].pick(rng, before) or _BASE_BY_SHORT["bert-base-uncased"]
    return base


@dataclass(frozen=True, slots=True)
class _Task:
    pipeline: str | None
    auto_model: str
    suffix: str  # architecture class suffix
    processor: str
    title: str  # task name in the Trainer's model-index
    metrics: tuple[str, ...]
    datasets: tuple[str, ...]
    words: tuple[str, ...]  # how people name such repositories
    course: str  # the repository name in the Hugging Face course notebook for this task
    ti_pipeline: str | None = None  # transformersInfo pipeline when it differs from the record's


_TASKS: Final = {
    "text-classification": _Task(
        "text-classification", "AutoModelForSequenceClassification", "ForSequenceClassification",
        "AutoTokenizer", "Text Classification", ("accuracy", "f1"),
        ("imdb", "dair-ai/emotion", "glue", "tweet_eval", "yelp_review_full", "ag_news", "rotten_tomatoes",
         "financial_phrasebank", "amazon_polarity", "sst2"),
        ("sentiment", "emotion", "clf", "classifier", "toxicity", "intent", "spam", "topic"),
        "my_awesome_model"),
    "token-classification": _Task(
        "token-classification", "AutoModelForTokenClassification", "ForTokenClassification",
        "AutoTokenizer", "Token Classification", ("precision", "recall", "f1", "accuracy"),
        ("conll2003", "wnut_17", "wikiann", "ncbi_disease", "tner/ontonotes5"),
        ("ner", "pos", "ner-tagger", "token-clf", "chunking"), "my_awesome_wnut_model"),
    "question-answering": _Task(
        "question-answering", "AutoModelForQuestionAnswering", "ForQuestionAnswering", "AutoTokenizer",
        "Question Answering", ("exact_match", "f1"), ("squad", "squad_v2", "adversarial_qa", "subjqa"),
        ("qa", "squad", "extractive-qa", "question-answering"), "my_awesome_qa_model"),
    "fill-mask": _Task(
        "fill-mask", "AutoModelForMaskedLM", "ForMaskedLM", "AutoTokenizer", "Masked Language Modeling",
        ("accuracy",), ("wikitext", "wikipedia", "bookcorpus", "cc100", "oscar"),
        ("mlm", "domain-adapted", "further-pretrained", "pretrained"), "my_awesome_eli5_mlm_model"),
    "multiple-choice": _Task(
        None, "AutoModelForMultipleChoice", "ForMultipleChoice", "AutoTokenizer", "Multiple Choice",
        ("accuracy",), ("swag", "race", "commonsense_qa"), ("swag", "mc", "multiple-choice"),
        "my_awesome_swag_model"),
    "zero-shot-classification": _Task(
        "zero-shot-classification", "AutoModelForSequenceClassification", "ForSequenceClassification",
        "AutoTokenizer", "Natural Language Inference", ("accuracy",), ("multi_nli", "snli", "anli", "xnli"),
        ("nli", "mnli", "zero-shot"), "my_awesome_nli_model", "text-classification"),
    "text-generation": _Task(
        "text-generation", "AutoModelForCausalLM", "ForCausalLM", "AutoTokenizer",
        "Causal Language Modeling", ("accuracy",),
        ("wikitext", "tatsu-lab/alpaca", "timdettmers/openassistant-guanaco", "HuggingFaceH4/ultrachat_200k",
         "yahma/alpaca-cleaned", "Open-Orca/SlimOrca", "databricks/databricks-dolly-15k"),
        ("sft", "chat", "instruct", "finetuned", "dpo", "lora-merged", "clm"), "my_awesome_eli5_clm-model"),
    "text2text-generation": _Task(
        "text2text-generation", "AutoModelForSeq2SeqLM", "ForConditionalGeneration", "AutoTokenizer",
        "Sequence-to-sequence Language Modeling", ("rouge1", "bleu"),
        ("jfleg", "paws", "squad", "common_gen", "e2e_nlg"), ("paraphraser", "qg", "grammar", "t2t"),
        "my_awesome_t2t_model"),
    "summarization": _Task(
        "summarization", "AutoModelForSeq2SeqLM", "ForConditionalGeneration", "AutoTokenizer",
        "Summarization", ("rouge1", "rouge2", "rougeL"),
        ("cnn_dailymail", "xsum", "samsum", "billsum", "multi_news"), ("summarizer", "summarization", "sum"),
        "my_awesome_billsum_model", "text2text-generation"),
    "translation": _Task(
        "translation", "AutoModelForSeq2SeqLM", "ForConditionalGeneration", "AutoTokenizer", "Translation",
        ("bleu",), ("wmt16", "opus_books", "kde4", "opus100", "tatoeba"), ("translator", "mt", "en-to-fr"),
        "my_awesome_opus_books_model", "text2text-generation"),
    "image-classification": _Task(
        "image-classification", "AutoModelForImageClassification", "ForImageClassification",
        "AutoImageProcessor", "Image Classification", ("accuracy",),
        ("imagefolder", "beans", "cifar10", "food101", "mnist", "imagenet-1k", "fashion_mnist"),
        ("image-classifier", "classifier", "img-clf", "classification"), "my_awesome_food_model"),
    "object-detection": _Task(
        "object-detection", "AutoModelForObjectDetection", "ForObjectDetection", "AutoImageProcessor",
        "Object Detection", ("map",), ("cppe-5", "detection-datasets/coco", "keremberke/license-plate"),
        ("detector", "det", "object-detection"), "detr-resnet-50_finetuned_cppe5"),
    "image-segmentation": _Task(
        "image-segmentation", "AutoModelForSemanticSegmentation", "ForSemanticSegmentation",
        "AutoImageProcessor", "Image Segmentation", ("mean_iou",), ("scene_parse_150", "segments/sidewalk"),
        ("seg", "segmentation", "sidewalk"), "segformer-b0-scene-parse-150"),
    "ctc": _Task(
        "automatic-speech-recognition", "AutoModelForCTC", "ForCTC", "AutoProcessor",
        "Automatic Speech Recognition", ("wer",),
        ("common_voice", "mozilla-foundation/common_voice_11_0", "librispeech_asr", "google/fleurs",
         "PolyAI/minds14"), ("asr", "stt", "speech", "cv"), "my_awesome_asr_mind_model"),
    "whisper": _Task(
        "automatic-speech-recognition", "AutoModelForSpeechSeq2Seq", "ForConditionalGeneration",
        "AutoProcessor", "Automatic Speech Recognition", ("wer",),
        ("mozilla-foundation/common_voice_11_0", "google/fleurs", "mozilla-foundation/common_voice_16_1"),
        ("asr", "stt", "speech"), "whisper-small-hi"),
    "audio-classification": _Task(
        "audio-classification", "AutoModelForAudioClassification", "ForSequenceClassification",
        "AutoFeatureExtractor", "Audio Classification", ("accuracy",),
        ("marsyas/gtzan", "speech_commands", "superb", "PolyAI/minds14"),
        ("audio-clf", "sound-classifier", "keyword-spotting", "gtzan"), "my_awesome_mind_model"),
    "image-to-text": _Task(
        "image-to-text", "AutoModelForVision2Seq", "ForConditionalGeneration", "AutoProcessor",
        "Image Captioning", ("bleu",), ("nlphuji/flickr30k", "lambdalabs/pokemon-blip-captions"),
        ("captioning", "caption", "image-captioning"), "blip-captioning", "image-text-to-text"),
    "image-text-to-text": _Task(
        "image-text-to-text", "AutoModelForImageTextToText", "ForConditionalGeneration", "AutoProcessor",
        "Visual Question Answering", ("accuracy",), ("HuggingFaceM4/VQAv2", "lmms-lab/DocVQA"),
        ("vqa", "vision-chat", "vl-sft"), "vlm-sft"),
    "text-to-speech": _Task(
        "text-to-speech", "AutoModelForTextToSpectrogram", "ForTextToSpeech", "AutoProcessor",
        "Text to Speech", ("loss",), ("facebook/voxpopuli", "mozilla-foundation/common_voice_13_0"),
        ("tts", "voice", "speech-synthesis"), "speecht5_finetuned_voxpopuli_nl"),
}

# Which tasks each kind of base gets fine-tuned for, and how often.
_KIND_TASKS: Final = {
    "enc": _Choice([("text-classification", 0.46), ("token-classification", 0.19),
                    ("question-answering", 0.12), ("fill-mask", 0.14), ("multiple-choice", 0.03),
                    ("zero-shot-classification", 0.06)]),
    "dec": _Choice([("text-generation", 1.0)]),
    "s2s": _Choice([("text2text-generation", 0.4), ("summarization", 0.32), ("translation", 0.28)]),
    "img": _Choice([("image-classification", 1.0)]),
    "det": _Choice([("object-detection", 1.0)]),
    "seg": _Choice([("image-segmentation", 1.0)]),
    "ctc": _Choice([("ctc", 1.0)]),
    "whisper": _Choice([("whisper", 1.0)]),
    "aud": _Choice([("audio-classification", 1.0)]),
    "cap": _Choice([("image-to-text", 1.0)]),
    "vlm": _Choice([("image-text-to-text", 1.0)]),
    "tts": _Choice([("text-to-speech", 1.0)]),
}
_FINETUNE_KINDS: Final = _Choice([
    ("enc", 0.5), ("dec", 0.12), ("s2s", 0.1), ("img", 0.09), ("ctc", 0.06), ("whisper", 0.05),
    ("aud", 0.02), ("det", 0.015), ("seg", 0.01), ("cap", 0.01), ("vlm", 0.01), ("tts", 0.01),
])

_LICENSES: Final = _Choice([
    ("apache-2.0", 40), ("mit", 25), ("openrail", 5), ("creativeml-openrail-m", 3), ("cc-by-4.0", 3),
    ("cc-by-nc-4.0", 4), ("cc-by-sa-4.0", 1.5), ("cc-by-nc-sa-4.0", 2), ("llama2", 1.5), ("llama3", 1),
    ("llama3.1", 1), ("gemma", 0.8), ("gpl-3.0", 2), ("bsd-3-clause", 1), ("afl-3.0", 1),
    ("bigscience-openrail-m", 0.7), ("openrail++", 0.8), ("agpl-3.0", 0.5), ("cc0-1.0", 0.5),
    ("unknown", 1), ("other", 4), ("wtfpl", 0.2), ("artistic-2.0", 0.3), ("lgpl-3.0", 0.3),
])
# Licence ids the Hub knows, hence turns into ``license:`` tags.
_HUB_LICENSES: Final = frozenset(_LICENSES.items) | {b.license for b in _BASES if b.license}
# Spellings that predate the Hub's licence validation; the Hub makes no ``license:`` tag of them.
_ODD_LICENSES: Final = ("Apache 2.0", "MIT", "apache2", "CC BY-NC 4.0", "GPLv3")
_OTHER_LICENSE_NAMES: Final = (
    "flux-1-dev-non-commercial-license", "deepseek", "qwen-research", "tongyi-qianwen",
    "research-only", "custom-eula", "nvidia-open-model-license",
)

_LANGUAGES: Final = _Choice([
    ("en", 55), ("zh", 5), ("fr", 4), ("de", 4), ("es", 4), ("ru", 3), ("ja", 3), ("ko", 3), ("ar", 3),
    ("pt", 2), ("it", 2), ("nl", 1), ("tr", 1.5), ("vi", 1.5), ("hi", 1.5), ("id", 1.5), ("pl", 1),
    ("sv", 1), ("fa", 1.5), ("bn", 1), ("uk", 1), ("multilingual", 2), ("sw", 0.5), ("th", 0.5),
])

_TOPICS: Final = (
    "sentiment", "emotion", "news", "legal", "medical", "clinical", "finance", "tweets", "reviews",
    "spam", "toxic", "intent", "fake-news", "sarcasm", "product", "movie", "recipe", "support",
    "resume", "patent", "scientific", "biomed", "code", "math", "poetry", "lyrics", "dialogue",
    "customer", "ecommerce", "climate", "crypto", "sports", "chemistry", "insurance", "cyber", "edu",
    "agri", "weather", "travel", "games",
)
_STYLES: Final = ("tiny", "small", "base", "mini", "lite", "pro", "fast", "v1", "v2", "final", "best", "test")

# Invented organisations that own many repositories each; the rest of the prolific authors are
# generated handles (see ``_pool_author``).
_ORGS: Final = (
    "kestrel-ai", "polyglot-nlp", "quantized-zoo", "deep-rl-club", "vision-foundry", "openvoice-lab",
    "lowres-labs", "tensorgarden", "northwind-research", "mergekitchen", "clinical-nlp-group",
    "edge-models", "bluefin-ai", "sparrow-ml", "lexicon-lab", "pixel-forge", "sonar-speech",
    "fieldnotes-ai", "cobalt-nlp", "riverbank-ml",
)
_SYL: Final = tuple(c + v for c in "bdfgklmnprstvz" for v in "aeiou")  # 70 two-letter syllables


def _syllables(n: int) -> str:
    # Base-70 numeral in syllables; fixed-width digits make it injective.
    out: list[str] = []
    while True:
        n, r = divmod(n, 70)
        out.append(_SYL[r])
        if not n:
            return "".join(reversed(out))


# ---------------------------------------------------------------------------------------------
# Identity: index -> (author, name) through a bijection, so ids are unique by construction.
# ---------------------------------------------------------------------------------------------

_MASK: Final = MAX_INDEX - 1
_LEGACY_END: Final = int(MAX_INDEX * 0.003)  # un-namespaced ids such as "distilgpt2-xyz"
_ONEOFF_END: Final = int(MAX_INDEX * 0.45)  # authors with a single model
_POOL_SIZE: Final = 30_000  # authors with several models; Zipf-like shares of the rest


def _perm(x: int) -> int:
    # Each step (odd multiply, add, xor-shift right) is a bijection on 24-bit integers.
    x = (x * 0x9E3779 + 0x5BD1E9) & _MASK
    x ^= x >> 11
    x = (x * 0xC2B2AF) & _MASK
    x ^= x >> 13
    x = (x * 0x27D4EB) & _MASK
    return x ^ (x >> 12)


def _pool_bounds() -> list[int]:
    weights = [1.0 / (k + 6) ** 1.05 for k in range(_POOL_SIZE)]
    scale = (MAX_INDEX - _ONEOFF_END - _POOL_SIZE) / sum(weights)
    bounds = [_ONEOFF_END]
    running = 0.0
    for k, w in enumerate(weights, 1):  # rounding the running sum keeps every author's share exact
        running += w
        bounds.append(_ONEOFF_END + k + int(running * scale))
    bounds[-1] = MAX_INDEX
    return bounds


_POOL_BOUNDS: Final = _pool_bounds()


@functools.cache
def _pool_author(k: int) -> str:
    if k < len(_ORGS):
        return _ORGS[k]
    # Never ends in a digit, unlike the one-off handles, so the two sets cannot meet.
    stem = _syllables(k + 4900)
    style = k % 7
    if style == 0:
        return stem + "-ai"
    if style == 1:
        return stem.capitalize()
    if style == 2:
        return stem + "-lab"
    return stem


def _oneoff_author(p: int) -> str:
    return f"{_syllables(p // 100 + 70)}{p % 100:02d}"


def _letters(n: int) -> str:
    # Bijective base 26 (a..z, aa..): every n gets its own string.
    out: list[str] = []
    n += 1
    while n:
        n, r = divmod(n - 1, 26)
        out.append(chr(97 + r))
    return "".join(reversed(out))


def _numbered(stem: str, j: int, rng: random.Random) -> str:
    # The trailing digits and the character before them identify j (stems never end in these
    # separators), so an author's names never repeat.
    if j < 40 and rng.random() < 0.5:
        return f"{stem}-v{j + 2}"
    sep = "-" if j < 40 else ("-", "_", "-run", "-exp", "-ckpt", "-")[rng.getrandbits(16) % 6]
    return f"{stem}{sep}{j + 1}"


# ---------------------------------------------------------------------------------------------
# Records
# ---------------------------------------------------------------------------------------------

_BYTES_PER: Final = {"F32": 4, "BF16": 2, "F16": 2}
_FRAMEWORK_ORDER: Final = {
    t: i for i, t in enumerate(
        ("tensorboard", "pytorch", "tf", "jax", "tflite", "onnx", "safetensors", "gguf")
    )
}
_T_SAFETENSORS: Final = _ts("2023-03-15")
_T_SAFETENSORS_DEFAULT: Final = _ts("2023-10-15")
_T_TRAINER_BASE_MODEL: Final = _ts("2023-10-01")
_T_DEFAULT_CARD: Final = _ts("2023-06-01")
_T_OLDEST: Final = _ts("2019-03-01")

# The default .gitattributes of new repositories changed twice; each version is one shared blob.
_T_GITATTRIBUTES_2021: Final = _ts("2021-01-01")
_T_GITATTRIBUTES_2023: Final = _ts("2023-01-01")


class _Draft:
    """What an archetype builder decides; :func:`_assemble` turns it into the Hub's JSON shape."""

    __slots__ = (
        "arxiv", "base_models", "card", "compat", "config", "extra_tags", "files", "frameworks",
        "gguf", "library", "mask_token", "name", "params", "pipeline", "relation", "rng", "t", "tinfo",
    )

    def __init__(self, rng: random.Random, t: int) -> None:
        self.rng = rng
        self.t = t  # when the model was made; only earlier bases can be its parents
        self.name = ""
        self.library: str | None = None
        self.pipeline: str | None = None
        self.card: Record | None = None
        self.config: Record | None = None
        self.tinfo: Record | None = None
        self.files: list[tuple[str, int, str | None]] = []
        self.frameworks: list[str] = []
        self.extra_tags: list[str] = []
        self.compat: list[str] = []
        self.base_models: list[str] = []
        self.relation = "finetune"
        self.arxiv: list[str] = []
        self.params: dict[str, int] | None = None
        self.mask_token: str | None = None
        self.gguf: Record | None = None

    def add(self, path: str, size: int, key: str | None = None) -> None:
        self.files.append((path, size, key))


@functools.cache
def _content_ids(key: str) -> tuple[str, str]:
    # Identical content has identical git and LFS ids in every repository that holds it.
    raw = key.encode()
    return hashlib.sha1(raw, usedforsecurity=False).hexdigest(), hashlib.sha256(raw).hexdigest()


_TOKENIZER_FILES: Final[dict[str, tuple[tuple[str, int], ...]]] = {
    "wp-uncased": (("special_tokens_map.json", 125), ("tokenizer.json", 466_062), ("vocab.txt", 231_508)),
    "wp-cased": (("special_tokens_map.json", 125), ("tokenizer.json", 435_797), ("vocab.txt", 213_450)),
    "wp-multi": (("special_tokens_map.json", 125), ("tokenizer.json", 1_961_828), ("vocab.txt", 995_526)),
    "bpe-roberta": (("merges.txt", 456_318), ("special_tokens_map.json", 957), ("tokenizer.json", 2_108_643),
                    ("vocab.json", 798_293)),
    "bpe-gpt2": (("merges.txt", 456_318), ("special_tokens_map.json", 99), ("tokenizer.json", 2_107_653),
                 ("vocab.json", 798_156)),
    "bpe-neox": (("special_tokens_map.json", 99), ("tokenizer.json", 2_113_738)),
    "bpe-modernbert": (("special_tokens_map.json", 694), ("tokenizer.json", 3_583_228)),
    "bpe-mpnet": (("special_tokens_map.json", 964), ("tokenizer.json", 710_932), ("vocab.txt", 231_536)),
    "bpe-qwen": (("merges.txt", 1_671_853), ("special_tokens_map.json", 613), ("tokenizer.json", 7_031_645),
                 ("vocab.json", 2_776_833)),
    "bpe-smol": (("merges.txt", 466_391), ("special_tokens_map.json", 655), ("tokenizer.json", 2_104_556),
                 ("vocab.json", 800_662)),
    "bpe-bloom": (("special_tokens_map.json", 96), ("tokenizer.json", 14_500_438)),
    "bpe-falcon": (("special_tokens_map.json", 281), ("tokenizer.json", 2_734_152)),
    "bpe-blip": (("special_tokens_map.json", 125), ("tokenizer.json", 711_396), ("vocab.txt", 231_508)),
    "tt-llama3": (("special_tokens_map.json", 296), ("tokenizer.json", 9_085_657)),
    "spm-llama": (("special_tokens_map.json", 414), ("tokenizer.json", 1_842_767),
                  ("tokenizer.model", 499_723)),
    "spm-mistral": (("special_tokens_map.json", 414), ("tokenizer.json", 1_795_303),
                    ("tokenizer.model", 493_443)),
    "spm-gemma": (("special_tokens_map.json", 636), ("tokenizer.json", 17_525_357),
                  ("tokenizer.model", 4_241_003)),
    "spm-t5": (("special_tokens_map.json", 2_201), ("spiece.model", 791_656), ("tokenizer.json", 2_422_256)),
    "spm-mt5": (("special_tokens_map.json", 74), ("spiece.model", 4_309_802), ("tokenizer.json", 16_330_715)),
    "spm-marian": (("source.spm", 768_489), ("special_tokens_map.json", 74), ("target.spm", 797_845),
                   ("vocab.json", 1_273_232)),
    "spm-xlmr": (("sentencepiece.bpe.model", 5_069_051), ("special_tokens_map.json", 280),
                 ("tokenizer.json", 17_082_734)),
    "spm-deberta": (("special_tokens_map.json", 173), ("spm.model", 2_464_616), ("tokenizer.json", 8_656_630)),
    "spm-albert": (("special_tokens_map.json", 245), ("spiece.model", 760_289), ("tokenizer.json", 1_312_669)),
    "spm-camembert": (("sentencepiece.bpe.model", 810_912), ("special_tokens_map.json", 354),
                      ("tokenizer.json", 1_395_301)),
    "spm-speecht5": (("preprocessor_config.json", 433), ("special_tokens_map.json", 234),
                     ("spm_char.model", 238_473)),
    "pp-vision": (("preprocessor_config.json", 325),),
    "pp-audio": (("preprocessor_config.json", 297),),
    "w2v": (("added_tokens.json", 23), ("preprocessor_config.json", 262), ("special_tokens_map.json", 96),
            ("vocab.json", 312)),
    "whisper": (("added_tokens.json", 34_604), ("merges.txt", 493_869), ("normalizer.json", 52_666),
                ("preprocessor_config.json", 339), ("special_tokens_map.json", 2_194),
                ("tokenizer.json", 2_480_466), ("vocab.json", 1_036_584)),
}
_MASK_TOKENS: Final = {"wp-uncased": "[MASK]", "wp-cased": "[MASK]", "wp-multi": "[MASK]",
                       "bpe-roberta": "<mask>", "spm-xlmr": "<mask>", "spm-deberta": "[MASK]",
                       "spm-albert": "[MASK]", "spm-camembert": "<mask>", "bpe-mpnet": "<mask>",
                       "bpe-modernbert": "[MASK]"}
_CHAT_TEMPLATE: Final = (
    "{% for m in messages %}{{ '<|' + m['role'] + '|>\\n' + m['content'] + eos_token + '\\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% endif %}"
)
_TEXT_TOKENIZER_FAMILIES: Final = frozenset(
    k for k in _TOKENIZER_FILES if k.startswith(("wp-", "bpe-", "spm-", "tt-"))
)


def _tokenizer(d: _Draft, base: _Base, *, chat: bool = False) -> None:
    for fname, size in _TOKENIZER_FILES[base.tok]:
        d.add(fname, size, f"{base.tok}/{fname}")
    if base.tok in _TEXT_TOKENIZER_FAMILIES:
        d.add("tokenizer_config.json", 300 + d.rng.getrandbits(10) + (50_000 if chat else 0))
        tok_cfg: Record = {}
        if chat or base.kind == "dec":
            tok_cfg = {"bos_token": "<s>", "eos_token": "</s>", "pad_token": "</s>", "unk_token": "<unk>"}
            if chat:
                tok_cfg["chat_template"] = _CHAT_TEMPLATE
                d.extra_tags.append("conversational")
        if d.config is not None:
            d.config["tokenizer_config"] = tok_cfg
        d.mask_token = _MASK_TOKENS.get(base.tok)


def _weights(d: _Draft, params: int, dtype: str, *, keyed: str | None = None) -> None:
    """Weight files for ``params`` parameters in the format of the era, with safetensors metadata."""
    rng = d.rng
    nbytes = params * _BYTES_PER[dtype]
    t = d.t
    if t < _T_SAFETENSORS:
        use_st, use_bin = rng.random() < 0.25, True  # many were converted later by a bot
    elif t < _T_SAFETENSORS_DEFAULT:
        use_st = rng.random() < 0.6
        use_bin = not use_st or rng.random() < 0.4
    else:
        use_st = rng.random() < 0.96
        use_bin = not use_st or rng.random() < 0.05
    shard = 5_000_000_000 if rng.random() < 0.7 else 2_000_000_000

    def overhead(bits: int) -> int:
        # Re-uploaded bytes must keep their size as well as their hash.
        return (1 << (bits - 1)) if keyed else rng.getrandbits(bits)

    if use_st:
        d.frameworks.append("safetensors")
        extra = 512 if d.rng.random() < 0.15 and params < 1_000_000_000 else 0
        d.params = {dtype: params, "I64": extra} if extra else {dtype: params}
        if nbytes <= shard:
            d.add("model.safetensors", nbytes + 8_000 + overhead(14), keyed and keyed + "/st")
        else:
            count = -(-nbytes // shard)
            per = nbytes // count
            for i in range(1, count + 1):
                d.add(f"model-{i:05d}-of-{count:05d}.safetensors", per + overhead(16),
                      keyed and f"{keyed}/st{i}-of-{count}")
            d.add("model.safetensors.index.json", 20_000 + count * 1_500 + rng.getrandbits(12))
    if use_bin:
        d.frameworks.append("pytorch")
        if nbytes <= 10_000_000_000:
            d.add("pytorch_model.bin", nbytes + 40_000 + overhead(16), keyed and keyed + "/bin")
        else:
            count = -(-nbytes // 10_000_000_000)
            for i in range(1, count + 1):
                d.add(f"pytorch_model-{i:05d}-of-{count:05d}.bin", nbytes // count + rng.getrandbits(16))
            d.add("pytorch_model.bin.index.json", 25_000 + rng.getrandbits(12))
    if t < _T_SAFETENSORS and params < 2_000_000_000 and rng.random() < 0.12:
        d.frameworks.append("tf")
        d.add("tf_model.h5", nbytes + 60_000 + rng.getrandbits(16))


def _license(rng: random.Random, inherited: str | None, p_inherit: float) -> str:
    if inherited is not None and rng.random() < p_inherit:
        return inherited
    return _LICENSES.pick(rng)


def _license_fields(card: Record, license_id: str, rng: random.Random) -> None:
    card["license"] = license_id
    if license_id == "other":
        card["license_name"] = _OTHER_LICENSE_NAMES[rng.getrandbits(8) % len(_OTHER_LICENSE_NAMES)]
        card["license_link"] = "LICENSE" if rng.random() < 0.6 else "LICENSE.md"


def _languages(rng: random.Random) -> str | list[str]:
    first = _LANGUAGES.pick(rng)
    if rng.random() < 0.55:
        return first
    extra = [_LANGUAGES.pick(rng) for _ in range(rng.getrandbits(2))]
    return list(dict.fromkeys([first, *extra]))


def _model_index(name: str, task: _Task, dataset: str | None, values: Sequence[float]) -> list[Record]:
    if dataset is None:
        return [{"name": name, "results": []}]
    metrics = [
        {"name": metric.replace("_", " ").title(), "type": metric, "value": value}
        for metric, value in zip(task.metrics, values, strict=False)
    ]
    result: Record = {
        "task": {"name": task.title, "type": task.pipeline or "multiple-choice"},
        "dataset": {"name": dataset, "type": dataset, "config": "default", "split": "validation",
                    "args": "default"},
        "metrics": metrics,
    }
    return [{"name": name, "results": [result]}]


def _metric_values(rng: random.Random, task: _Task) -> list[float]:
    out = []
    for metric in task.metrics:
        if metric in ("wer", "loss"):
            out.append(round(rng.uniform(0.05, 0.6), 4))
        elif metric.startswith("rouge") or metric in ("bleu", "map", "mean_iou"):
            out.append(round(rng.uniform(5.0, 48.0), 4))
        else:
            out.append(round(rng.uniform(0.55, 0.99), 4))
    return out


def _dataset_name(ds: str) -> str:
    return ds.rpartition("/")[2].replace("_", "-").lower()


def _transformers_common(d: _Draft, base: _Base, task: _Task) -> None:
    d.library = "transformers"
    d.pipeline = task.pipeline
    arch = f"{base.arch}{task.suffix}"
    if base.arch == "GPT2" and task.suffix == "ForCausalLM":
        arch = "GPT2LMHeadModel"
    elif base.arch == "Marian":
        arch = "MarianMTModel"
    d.config = {"architectures": [arch], "model_type": base.model_type}
    d.tinfo = {"auto_model": task.auto_model, "pipeline_tag": task.ti_pipeline or task.pipeline,
               "processor": task.processor}
    if task.pipeline is None:
        del d.tinfo["pipeline_tag"]
    d.compat = ["autotrain_compatible", "endpoints_compatible"]
    if base.kind == "dec":
        d.compat.insert(1, "text-generation-inference")
    d.add("config.json", 600 + d.rng.getrandbits(10))


def _trainer_finetune(d: _Draft) -> None:
    """A model fine-tuned with the Trainer (or Keras callback) and pushed with its generated card."""
    rng = d.rng
    kind = _FINETUNE_KINDS.pick(rng)
    base = _pick_base(rng, kind, d.t)
    task = _TASKS[_KIND_TASKS[base.kind].pick(rng)]
    dataset = task.datasets[rng.getrandbits(16) % len(task.datasets)] if rng.random() < 0.7 else None
    topic = _TOPICS[rng.getrandbits(16) % len(_TOPICS)]
    style = rng.random()
    word = task.words[rng.getrandbits(8) % len(task.words)]
    if style < 0.35:
        d.name = f"{base.short}-finetuned-{_dataset_name(dataset) if dataset else topic}"
    elif style < 0.5:
        d.name = task.course
    elif style < 0.7:
        d.name = f"{base.short}-{topic}-{word}"
    elif style < 0.85:
        d.name = f"{topic}-{word}-{base.short.split('-')[0]}"
    else:
        d.name = f"{base.short}-{word}"
    _transformers_common(d, base, task)
    keras = d.t < _T_SAFETENSORS and base.kind == "enc" and rng.random() < 0.15
    if keras:
        d.frameworks.append("tf")
        d.add("tf_model.h5", base.params * 4 + 50_000 + rng.getrandbits(16))
    else:
        _weights(d, base.params + rng.getrandbits(12), "BF16" if base.params > 1e9 else "F32")
        d.add("training_args.bin", 4_000 + rng.getrandbits(11))
        if rng.random() < 0.4:
            d.frameworks.append("tensorboard")
            stamp = d.t + rng.getrandbits(12)
            host = _syllables(rng.getrandbits(14))
            d.add(f"runs/{time.strftime('%b%d_%H-%M-%S', time.gmtime(stamp))}_{host}/"
                  f"events.out.tfevents.{stamp}.{host}.{rng.getrandbits(15)}.0", 5_000 + rng.getrandbits(14))
    if base.kind in ("dec", "s2s", "whisper"):
        d.add("generation_config.json", 120 + rng.getrandbits(7))
    if rng.random() < 0.85 or base.tok.startswith("pp-"):  # some forget the tokenizer, never the processor
        _tokenizer(d, base)
    if rng.random() < 0.05:  # pushed without a card
        return
    card: Record = {}
    if d.t >= _T_SAFETENSORS_DEFAULT and rng.random() < 0.5:
        card["library_name"] = "transformers"
    if rng.random() < 0.4:
        _license_fields(card, _license(rng, base.license, 0.8), rng)
    if d.t >= _T_TRAINER_BASE_MODEL and rng.random() < 0.85:
        card["base_model"] = base.id
        d.base_models.append(base.id)
    card["tags"] = ["generated_from_keras_callback" if keras else "generated_from_trainer"]
    if dataset is not None and rng.random() < 0.12:
        card["datasets"] = [dataset]
    if rng.random() < 0.04:
        card["language"] = _languages(rng)
    if dataset is not None and not keras:
        card["metrics"] = [task.metrics[0]]
    values = _metric_values(rng, task) if dataset is not None and not keras else []
    card["model-index"] = _model_index(d.name, task, None if keras else dataset, values)
    d.card = card


def _llm_finetune(d: _Draft) -> None:
    """Chat/instruct fine-tunes, merges, quantisations and re-uploads of large language models."""
    rng = d.rng
    base = _pick_base(rng, "dec", d.t)
    task = _TASKS["text-generation"]
    _transformers_common(d, base, task)
    variant = rng.random()
    topic = _TOPICS[rng.getrandbits(16) % len(_TOPICS)]
    card: Record = {"base_model": base.id}
    d.base_models.append(base.id)
    keyed = None
    if variant < 0.45:
        d.name = f"{base.short}-{topic}-{('sft', 'dpo', 'orpo', 'instruct', 'chat')[rng.getrandbits(8) % 5]}"
        card["library_name"] = "transformers"
        card["tags"] = [t for t in ("trl", "sft", "unsloth") if rng.random() < 0.5] or ["text-generation"]
    elif variant < 0.65:
        other = _pick_base(rng, "dec", d.t)
        d.name = f"{base.short.split('-')[0]}-{topic}-merge"
        card["base_model"] = list(dict.fromkeys([base.id, other.id]))
        d.base_models = list(card["base_model"])
        d.relation = "merge" if len(d.base_models) > 1 else "finetune"
        card["library_name"] = "transformers"
        card["tags"] = ["mergekit", "merge"]
        d.extra_tags.append("mergekit")
    elif variant < 0.9:
        method = ("bnb-4bit", "GPTQ", "AWQ", "4bit", "8bit")[rng.getrandbits(8) % 5]
        d.name = f"{base.short}-{method}"
        quant = "bitsandbytes" if "bit" in method else method.lower()
        assert d.config is not None
        d.config["quantization_config"] = {"bits": 8 if method == "8bit" else 4, "quant_method": quant}
        d.extra_tags.extend(["4-bit" if method != "8bit" else "8-bit", quant])
        d.relation = "quantized"
        card["tags"] = ["quantized", quant]
    else:  # a re-upload: same bytes as the original, often under another licence
        d.name = base.short if rng.random() < 0.5 else f"{base.short}-copy"
        keyed = base.id
        card["tags"] = ["text-generation"]
    if rng.random() < 0.7:
        inherited = base.license if keyed is None or rng.random() < 0.5 else None
        _license_fields(card, _license(rng, inherited, 0.85), rng)
    if rng.random() < 0.06:
        card["language"] = _languages(rng)
    if rng.random() < 0.07:
        card["datasets"] = [task.datasets[rng.getrandbits(8) % len(task.datasets)]]
    if rng.random() < 0.2:
        card["pipeline_tag"] = "text-generation"
    if d.relation != "finetune" and rng.random() < 0.3:
        card["base_model_relation"] = d.relation
    if rng.random() < 0.15:
        d.arxiv = [_arxiv_id(rng)]
    params = base.params // 2 if d.relation == "quantized" else base.params
    _weights(d, params, "BF16" if rng.random() < 0.8 else "F16", keyed=keyed)
    d.add("generation_config.json", 120 + rng.getrandbits(7))
    _tokenizer(d, base, chat=rng.random() < 0.7)
    d.card = card


def _pretrained(d: _Draft) -> None:
    """A hand-documented model (pretrained from scratch or a published fine-tune) with a real card."""
    rng = d.rng
    kind = _FINETUNE_KINDS.pick(rng)
    base = _pick_base(rng, kind, d.t)
    task = _TASKS[_KIND_TASKS[base.kind].pick(rng)]
    lang = _LANGUAGES.pick(rng)
    topic = _TOPICS[rng.getrandbits(16) % len(_TOPICS)]
    scratch = base.kind in ("enc", "dec") and rng.random() < 0.35
    if scratch:
        d.name = f"{base.model_type.replace('_', '-')}-{lang}-{_STYLES[rng.getrandbits(8) % len(_STYLES)]}"
        if base.kind == "enc":
            task = _TASKS["fill-mask"]
    else:
        d.name = f"{topic}-{base.short}"
    _transformers_common(d, base, task)
    _weights(d, base.params, "F32" if base.params < 1e9 else "BF16")
    if base.kind in ("dec", "s2s", "whisper"):
        d.add("generation_config.json", 120 + rng.getrandbits(7))
    _tokenizer(d, base)
    card: Record = {}
    if rng.random() < 0.14:
        card["language"] = lang if rng.random() < 0.6 else [lang]
    if rng.random() < 0.8:
        _license_fields(card, _license(rng, base.license, 0.5), rng)
    card["tags"] = [topic, task.pipeline or "multiple-choice"]
    if rng.random() < 0.2:
        card["datasets"] = [task.datasets[rng.getrandbits(8) % len(task.datasets)]]
    if rng.random() < 0.4:
        card["metrics"] = list(task.metrics)
    if not scratch and rng.random() < 0.4:
        card["base_model"] = base.id if rng.random() < 0.8 else [base.id]
        d.base_models.append(base.id)
    if rng.random() < 0.25:
        d.arxiv = [_arxiv_id(rng) for _ in range(1 + rng.getrandbits(1))]
    if rng.random() < 0.3:
        card["widget"] = [{"text": _WIDGET_TEXT[rng.getrandbits(8) % len(_WIDGET_TEXT)]}]
    d.card = card


def _bare_transformers(d: _Draft) -> None:
    """``push_to_hub`` without a written card: the library's default card, or none at all."""
    rng = d.rng
    base = _pick_base(rng, _FINETUNE_KINDS.pick(rng), d.t)
    task = _TASKS[_KIND_TASKS[base.kind].pick(rng)]
    topic = _TOPICS[rng.getrandbits(16) % len(_TOPICS)]
    d.name = f"{topic}_{base.short.split('-')[0].lower()}" if rng.random() < 0.5 else f"{topic}-model"
    _transformers_common(d, base, task)
    if rng.random() < 0.2:  # config without a recognised architecture: the Hub infers no pipeline
        d.pipeline = None
        d.tinfo = None
        d.config = {"model_type": base.model_type}
    _weights(d, base.params, "F32" if base.params < 1e9 else "BF16")
    if rng.random() < 0.5:
        _tokenizer(d, base)
    if d.t >= _T_DEFAULT_CARD:
        tags = [t for t in ("trl", "sft", "unsloth") if rng.random() < 0.15]
        d.card = {"library_name": "transformers", "tags": tags}


def _sentence_transformers(d: _Draft) -> None:
    rng = d.rng
    base = _pick_base(rng, "st", d.t)
    topic = _TOPICS[rng.getrandbits(16) % len(_TOPICS)]
    d.name = f"{base.short}-{topic}" if rng.random() < 0.6 else f"{topic}-embeddings"
    d.library = "sentence-transformers"
    d.pipeline = "sentence-similarity"
    d.config = {"architectures": [f"{base.arch}Model"], "model_type": base.model_type}
    d.tinfo = {"auto_model": "AutoModel", "pipeline_tag": "feature-extraction", "processor": "AutoTokenizer"}
    d.compat = ["autotrain_compatible", "text-embeddings-inference", "endpoints_compatible"]
    for fname, size in (("1_Pooling/config.json", 190), ("config_sentence_transformers.json", 205),
                        ("modules.json", 349), ("sentence_bert_config.json", 53)):
        d.add(fname, size, f"st/{fname}")
    d.add("config.json", 600 + rng.getrandbits(9))
    _weights(d, base.params, "F32")
    _tokenizer(d, base)
    tags = ["sentence-transformers", "sentence-similarity", "feature-extraction"]
    card: Record = {"tags": tags, "library_name": "sentence-transformers",
                    "pipeline_tag": "sentence-similarity"}
    if rng.random() < 0.6:
        card["base_model"] = base.id
        d.base_models.append(base.id)
    if rng.random() < 0.5:
        _license_fields(card, _license(rng, base.license, 0.7), rng)
    if rng.random() < 0.1:
        card["datasets"] = ["sentence-transformers/all-nli"]
    if rng.random() < 0.1:
        card["language"] = _languages(rng)
    if rng.random() < 0.95:
        d.card = card


def _peft_adapter(d: _Draft) -> None:
    rng = d.rng
    base = _pick_base(rng, "dec" if rng.random() < 0.8 else "enc", d.t)
    topic = _TOPICS[rng.getrandbits(16) % len(_TOPICS)]
    d.name = f"{base.short}-{topic}-lora" if rng.random() < 0.6 else f"{topic}-{base.short.split('-')[0]}-adapter"
    d.library = "peft"
    d.relation = "adapter"
    task_type = "CAUSAL_LM" if base.kind == "dec" else "SEQ_CLS"
    d.config = {"peft": {"base_model_name_or_path": base.id, "task_type": task_type}}
    if rng.random() < 0.5:
        d.pipeline = "text-generation" if base.kind == "dec" else "text-classification"
    d.add("adapter_config.json", 600 + rng.getrandbits(9))
    lora = (4 << rng.getrandbits(3)) * 1_000_000 // 8 + rng.getrandbits(20)
    if d.t >= _T_SAFETENSORS:
        d.frameworks.append("safetensors")
        d.add("adapter_model.safetensors", lora)
    else:
        d.add("adapter_model.bin", lora)
    d.add("training_args.bin", 4_000 + rng.getrandbits(11))
    if rng.random() < 0.5:
        _tokenizer(d, base)
    card: Record = {"base_model": base.id, "library_name": "peft"}
    d.base_models.append(base.id)
    if rng.random() < 0.4:
        card["tags"] = [t for t in ("trl", "sft", "generated_from_trainer", "lora") if rng.random() < 0.6]
    if rng.random() < 0.35:
        _license_fields(card, _license(rng, base.license, 0.8), rng)
    if rng.random() < 0.04:
        card["datasets"] = [_TASKS["text-generation"].datasets[rng.getrandbits(8) % 7]]
    if rng.random() < 0.2:
        card["base_model_relation"] = "adapter"
    if rng.random() < 0.1:
        d.arxiv = [_METHOD_PAPERS[0]]
    if rng.random() < 0.9:
        d.card = card


_SD_SUBJECTS: Final = ("sks dog", "pixel art", "anime portrait", "watercolor", "cyberpunk city",
                       "product photo", "logo", "sticker", "oil painting", "cat")


def _diffusers(d: _Draft) -> None:
    rng = d.rng
    base = _PICKERS["sd"].pick(rng, d.t)
    if base is None:  # before Stable Diffusion people uploaded other things
        _loose_files(d)
        return
    subject = _SD_SUBJECTS[rng.getrandbits(8) % len(_SD_SUBJECTS)]
    slug = subject.replace(" ", "-")
    d.library = "diffusers"
    d.pipeline = "text-to-image"
    d.base_models.append(base.id)
    card: Record = {}
    _license_fields(card, base.license or "creativeml-openrail-m", rng)
    card["base_model"] = base.id
    if rng.random() < 0.55:  # LoRA weights only
        family = "flux" if "FLUX" in base.id else "sdxl" if "-xl-" in base.id else "sd15"
        d.name = f"{slug}-lora" if rng.random() < 0.5 else f"{family}-{slug}-lora"
        d.relation = "adapter"
        d.frameworks.append("safetensors")
        d.add("pytorch_lora_weights.safetensors", 20_000_000 + rng.getrandbits(27))
        card["tags"] = ["text-to-image", "diffusers", "lora", "template:sd-lora"]
        card["instance_prompt"] = f"a photo of {subject}"
        for i in range(rng.getrandbits(2)):
            d.add(f"image_{i}.png", 400_000 + rng.getrandbits(20))
    else:  # a full pipeline (DreamBooth or a course model)
        d.name = f"dreambooth-{slug}" if rng.random() < 0.6 else f"sd-class-{slug}-32"
        d.config = {"diffusers": {"_class_name": base.arch}}
        d.extra_tags.append(f"diffusers:{base.arch}")
        d.add("model_index.json", 500 + rng.getrandbits(8))
        d.add("scheduler/scheduler_config.json", 400 + rng.getrandbits(8))
        d.add("text_encoder/config.json", 600 + rng.getrandbits(8))
        d.add("tokenizer/merges.txt", 524_619, "sd/merges.txt")
        d.add("tokenizer/vocab.json", 1_059_962, "sd/vocab.json")
        d.add("unet/config.json", 1_500 + rng.getrandbits(8))
        d.add("vae/config.json", 600 + rng.getrandbits(8))
        st = d.t >= _T_SAFETENSORS
        ext = "safetensors" if st else "bin"
        d.frameworks.append("safetensors" if st else "pytorch")
        # DreamBooth trains the UNet; the text encoder and VAE are the base's bytes.
        d.add(f"text_encoder/model.{ext}" if st else "text_encoder/pytorch_model.bin", 492_265_874,
              f"{base.id}/text_encoder/{ext}")
        d.add(f"unet/diffusion_pytorch_model.{ext}", base.params * 2 + rng.getrandbits(16))
        d.add(f"vae/diffusion_pytorch_model.{ext}", 167_335_342, f"{base.id}/vae/{ext}")
        card["tags"] = ["text-to-image", "stable-diffusion", "dreambooth"]
        d.compat.append("endpoints_compatible")
    if rng.random() < 0.9:
        d.card = card


_SB3_ALGOS: Final = _Choice([("ppo", 0.6), ("dqn", 0.15), ("a2c", 0.12), ("sac", 0.05), ("tqc", 0.04),
                             ("qrdqn", 0.04)])
_ENVS: Final = _Choice([("LunarLander-v2", 0.45), ("CartPole-v1", 0.1), ("SpaceInvadersNoFrameskip-v4", 0.1),
                        ("PandaReachDense-v3", 0.08), ("BreakoutNoFrameskip-v4", 0.05), ("MountainCar-v0", 0.05),
                        ("Acrobot-v1", 0.04), ("HalfCheetah-v3", 0.04), ("Pendulum-v1", 0.04),
                        ("AntBulletEnv-v0", 0.05)])
_ML_AGENTS_ENVS: Final = ("SnowballTarget", "Huggy", "Pyramids", "SoccerTwos", "Worm")


def _rl(d: _Draft) -> None:
    """Deep RL course style agents: the commonest non-transformers models on the Hub."""
    rng = d.rng
    d.pipeline = "reinforcement-learning"
    roll = rng.random()
    reward = f"{rng.uniform(-50, 300):.2f} +/- {rng.uniform(0.5, 80):.2f}"
    if roll < 0.58:
        algo = _SB3_ALGOS.pick(rng)
        env = _ENVS.pick(rng)
        d.library = "stable-baselines3"
        d.name = f"{algo}-{env}" if rng.random() < 0.7 else f"{algo.upper()}-{env}"
        folder = f"{algo}-{env}"
        d.add(f"{folder}.zip", 140_000 + rng.getrandbits(17))
        for fname, size in (("_stable_baselines3_version", 5), ("data", 14_000), ("system_info.txt", 200)):
            d.add(f"{folder}/{fname}", size + rng.getrandbits(8))
        for fname in ("policy.optimizer.pth", "policy.pth", "pytorch_variables.pth"):
            d.add(f"{folder}/{fname}", 1_000 + rng.getrandbits(17))
        d.add("config.json", 14_000 + rng.getrandbits(10))
        tags = [env, "deep-reinforcement-learning", "reinforcement-learning", "stable-baselines3"]
        model = algo.upper()
    elif roll < 0.8:
        env = _ML_AGENTS_ENVS[rng.getrandbits(8) % len(_ML_AGENTS_ENVS)]
        d.library = "ml-agents"
        d.name = f"ppo-{env}" if env != "SoccerTwos" else "poca-SoccerTwos"
        d.frameworks.append("onnx")
        d.add(f"{env}.onnx", 600_000 + rng.getrandbits(20))
        step = 200_000 + rng.getrandbits(19)
        d.add(f"{env}/{env}-{step}.onnx", 600_000 + rng.getrandbits(20))
        d.add(f"{env}/{env}-{step}.pt", 3_500_000 + rng.getrandbits(21))
        d.add(f"{env}/events.out.tfevents.{d.t}.{_syllables(rng.getrandbits(12))}.{rng.getrandbits(12)}.0",
              30_000 + rng.getrandbits(14))
        d.add("config.json", 1_200 + rng.getrandbits(8))
        d.add("configuration.yaml", 1_300 + rng.getrandbits(8))
        d.add("run_logs/timers.json", 20_000 + rng.getrandbits(12))
        d.add("run_logs/training_status.json", 2_000 + rng.getrandbits(10))
        # The ML-Agents push writes no evaluation results.
        d.card = {"library_name": "ml-agents",
                  "tags": [env, "deep-reinforcement-learning", "reinforcement-learning", f"ML-Agents-{env}"]}
        return
    elif roll < 0.9:
        env = _ENVS.pick(rng)
        exp = ("dqn", "c51_jax", "ppo_atari", "sac_continuous_action")[rng.getrandbits(8) % 4]
        seed = 1 + rng.getrandbits(2)
        d.library = "cleanrl"
        d.name = f"{env}-{exp}-seed{seed}"
        d.frameworks.append("tensorboard")
        d.add(f"{exp}.cleanrl_model", 50_000 + rng.getrandbits(20))
        d.add(f"{exp}.py", 8_000 + rng.getrandbits(11))
        d.add(f"events.out.tfevents.{d.t}.{_syllables(rng.getrandbits(12))}.{rng.getrandbits(12)}.0",
              200_000 + rng.getrandbits(17))
        d.add("poetry.lock", 360_000 + rng.getrandbits(12))
        d.add("pyproject.toml", 3_000 + rng.getrandbits(10))
        tags = [env, "deep-reinforcement-learning", "reinforcement-learning", "custom-implementation"]
        model = "DQN" if exp == "dqn" else exp
    else:  # tabular Q-learning from the course: a pickled table and no library at all
        env = "FrozenLake-v1-4x4-no_slippery" if rng.random() < 0.6 else "Taxi-v3"
        d.name = f"q-{env.replace('_', '')}" if rng.random() < 0.7 else f"q-learning-{env.split('-')[0]}"
        d.add("q-learning.pkl", 900 + rng.getrandbits(14))
        tags = [env, "q-learning", "reinforcement-learning", "custom-implementation"]
        model = "Q-Learning"
    d.add("replay.mp4", 100_000 + rng.getrandbits(19))
    d.add("results.json", 150 + rng.getrandbits(6))
    result = {"task": {"type": "reinforcement-learning", "name": "reinforcement-learning"},
              "dataset": {"name": env, "type": env},
              "metrics": [{"type": "mean_reward", "value": reward, "name": "mean_reward", "verified": False}]}
    card: Record = {"tags": tags, "model-index": [{"name": model, "results": [result]}]}
    if d.library is not None:
        card = {"library_name": d.library, **card}
    d.card = card


@dataclass(frozen=True, slots=True)
class _Lib:
    name: str
    pipelines: tuple[str | None, ...]
    files: tuple[tuple[str, int], ...]
    tags: tuple[str, ...]
    config: Record | None = None


_OTHER_LIBS: Final = _Choice([
    (_Lib("timm", ("image-classification",), (("config.json", 700), ("model.safetensors", 102_000_000),
                                              ("pytorch_model.bin", 102_100_000)),
          ("image-classification", "timm")), 0.6),
    (_Lib("keras", ("image-classification", "text-classification", None),
          (("fingerprint.pb", 56), ("keras_metadata.pb", 120_000), ("saved_model.pb", 900_000),
           ("variables/variables.data-00000-of-00001", 48_000_000), ("variables/variables.index", 9_000)),
          ("keras",)), 0.5),
    (_Lib("spacy", ("token-classification",),
          (("config.cfg", 6_000), ("meta.json", 9_000), ("pipeline-any-py3-none-any.whl", 14_000_000),
           ("vocab/strings.json", 1_200_000)), ("spacy", "token-classification")), 0.2),
    (_Lib("espnet", ("automatic-speech-recognition", "text-to-speech"),
          (("exp/config.yaml", 7_000), ("exp/valid.acc.ave.pth", 120_000_000), ("meta.yaml", 110)),
          ("espnet", "audio")), 0.2),
    (_Lib("fastai", ("image-classification", None), (("model.pkl", 47_000_000),), ("fastai",)), 0.1),
    (_Lib("sklearn", ("tabular-classification", "tabular-regression"),
          (("config.json", 1_500), ("model.pkl", 300_000)), ("sklearn", "skops"),
          {"sklearn": {"model": {"file": "model.pkl"}, "model_format": "pickle"}}), 0.1),
    (_Lib("nemo", ("automatic-speech-recognition",), (("model.nemo", 450_000_000),), ("nemo", "NeMo")), 0.1),
    (_Lib("fasttext", ("text-classification", "feature-extraction"), (("model.bin", 890_000_000),),
          ("fasttext",)), 0.1),
    (_Lib("flair", ("token-classification",), (("pytorch_model.bin", 430_000_000),),
          ("flair", "sequence-tagger-model")), 0.1),
    (_Lib("transformers.js", ("feature-extraction", "text-classification"),
          (("config.json", 650), ("onnx/model.onnx", 90_000_000), ("onnx/model_quantized.onnx", 23_000_000),
           ("tokenizer.json", 711_396), ("tokenizer_config.json", 1_200)), ("transformers.js", "onnx")), 0.1),
    (_Lib("open_clip", ("zero-shot-image-classification",),
          (("open_clip_config.json", 1_600), ("open_clip_pytorch_model.bin", 605_000_000)),
          ("clip", "open_clip")), 0.1),
    (_Lib("adapter-transformers", ("text-classification", "question-answering"),
          (("adapter_config.json", 900), ("head_config.json", 400), ("pytorch_adapter.bin", 3_600_000),
           ("pytorch_model_head.bin", 2_400_000)), ("adapter-transformers", "adapterhub:sentiment/sst-2"),
          {"adapter_transformers": {"model_name": "roberta-base", "model_class": "RobertaAdapterModel"}}), 0.2),
    (_Lib("ultralytics", ("object-detection",), (("best.pt", 22_500_000),),
          ("ultralytics", "yolov8", "object-detection")), 0.2),
    (_Lib("mlx", ("text-generation",), (("config.json", 1_100), ("model.safetensors", 800_000_000),
                                        ("tokenizer.json", 9_085_657)), ("mlx",)), 0.3),
    (_Lib("speechbrain", ("audio-classification", "audio-to-audio"),
          (("embedding_model.ckpt", 83_000_000), ("hyperparams.yaml", 2_000)), ("speechbrain", "audio"),
          {"speechbrain": {"speechbrain_interface": "EncoderClassifier"}}), 0.05),
    (_Lib("pyannote-audio", ("voice-activity-detection",),
          (("config.yaml", 400), ("pytorch_model.bin", 5_900_000)), ("pyannote-audio", "pyannote")), 0.05),
])
_LIB_FRAMEWORK: Final = {"timm": "safetensors", "transformers.js": "onnx", "mlx": "safetensors"}


def _other_library(d: _Draft) -> None:
    rng = d.rng
    lib = _OTHER_LIBS.pick(rng)
    topic = _TOPICS[rng.getrandbits(16) % len(_TOPICS)]
    d.name = f"{topic}-{lib.name.replace('_', '-').split('.')[0]}" if rng.random() < 0.5 else f"{topic}-model"
    d.library = lib.name
    d.pipeline = lib.pipelines[rng.getrandbits(8) % len(lib.pipelines)] if rng.random() < 0.7 else None
    if lib.config is not None:
        d.config = copy.deepcopy(lib.config)  # records must not share mutable parts
    framework = _LIB_FRAMEWORK.get(lib.name)
    if framework is not None:
        d.frameworks.append(framework)
    for fname, typical in lib.files:
        size = typical + rng.getrandbits(14)
        d.add(fname, size)
        if fname == "model.safetensors":
            dtype = "BF16" if lib.name == "mlx" else "F32"
            d.params = {dtype: size // _BYTES_PER[dtype]}
    card: Record = {"library_name": lib.name, "tags": list(lib.tags)}
    if lib.name == "mlx":
        base = _pick_base(rng, "dec", d.t)
        card["base_model"] = base.id
        d.base_models.append(base.id)
        d.relation = "quantized"
    if rng.random() < 0.5:
        _license_fields(card, _LICENSES.pick(rng), rng)
    if rng.random() < 0.06:
        card["language"] = _languages(rng)
    if rng.random() < 0.8:
        d.card = card


_QUANTS: Final = (("Q2_K", 2.6), ("Q3_K_M", 3.9), ("Q4_K_M", 4.8), ("Q5_K_M", 5.7), ("Q6_K", 6.6),
                  ("Q8_0", 8.5), ("f16", 16.0))


def _gguf(d: _Draft) -> None:
    """llama.cpp quantisations: no library, only a ``gguf`` tag and the parsed GGUF header."""
    rng = d.rng
    base = _pick_base(rng, "dec", d.t)
    own = rng.random() < 0.3
    topic = _TOPICS[rng.getrandbits(16) % len(_TOPICS)]
    stem = f"{base.short}-{topic}" if own else base.short
    d.name = f"{stem}-GGUF" if rng.random() < 0.7 else f"{stem}-Q4_K_M-GGUF"
    d.frameworks.append("gguf")
    d.relation = "quantized"
    d.base_models.append(base.id)
    first = rng.getrandbits(8) % 4
    for quant, bits in _QUANTS[first:first + 1 + rng.getrandbits(2) * 2]:
        d.add(f"{stem.lower()}-{quant.lower()}.gguf", int(base.params * bits / 8) + rng.getrandbits(20))
    d.gguf = {"total": base.params, "architecture": base.model_type,
              "context_length": (4096, 8192, 32768, 131072)[rng.getrandbits(8) % 4]}
    d.compat = ["endpoints_compatible"]
    if rng.random() < 0.7:
        d.extra_tags.append("conversational")
    card: Record = {"base_model": base.id, "tags": ["llama-cpp", "gguf-my-repo"] if rng.random() < 0.5
                    else ["gguf", "quantized"]}
    if rng.random() < 0.7:
        _license_fields(card, _license(rng, base.license, 0.9), rng)
    if rng.random() < 0.6:
        card["pipeline_tag"] = "text-generation"
        d.pipeline = "text-generation"
    if rng.random() < 0.1:
        card["language"] = _languages(rng)
    if rng.random() < 0.3:
        card["base_model_relation"] = "quantized"
    if rng.random() < 0.9:
        d.card = card


def _sd_files(d: _Draft) -> None:
    """Stable Diffusion checkpoints and LoRAs uploaded as bare files (the A1111/Civitai habit)."""
    rng = d.rng
    base = _PICKERS["sd"].pick(rng, d.t)
    if base is None:
        _loose_files(d)
        return
    subject = _SD_SUBJECTS[rng.getrandbits(8) % len(_SD_SUBJECTS)].replace(" ", "_")
    lora = rng.random() < 0.6
    d.name = f"{subject}_lora" if lora else f"{subject}-mix"
    ext = "safetensors" if d.t >= _T_SAFETENSORS or rng.random() < 0.3 else "ckpt"
    if ext == "safetensors":
        d.frameworks.append("safetensors")
    size = 10_000_000 + rng.getrandbits(28) if lora else 2_000_000_000 + rng.getrandbits(32)
    d.add(f"{subject}_v{1 + rng.getrandbits(2)}.{ext}", size)
    if rng.random() < 0.3:
        d.add("sample.png", 500_000 + rng.getrandbits(20))
    if rng.random() < 0.62:
        card: Record = {}
        _license_fields(card, ("creativeml-openrail-m", "openrail++", "openrail", "other")[rng.getrandbits(8) % 4],
                        rng)
        if rng.random() < 0.5:
            card["tags"] = ["text-to-image", "stable-diffusion", "lora" if lora else "checkpoint"]
        if rng.random() < 0.4:
            card["base_model"] = base.id
            d.base_models.append(base.id)
            d.relation = "adapter" if lora else "finetune"
        if rng.random() < 0.3:
            card["pipeline_tag"] = "text-to-image"
            d.pipeline = "text-to-image"
        d.card = card


_LOOSE_WEIGHTS: Final = ("model.pt", "best.pt", "model.pth", "checkpoint.pth", "model.pkl", "model.h5",
                         "model.onnx", "weights.bin", "last.ckpt", "model.joblib", "embeddings.npy",
                         "generator.pth", "model.tflite", "classifier.pkl")
_LOOSE_EXTRAS: Final = (("train.py", 4_000), ("inference.py", 2_500), ("requirements.txt", 120),
                        ("app.py", 3_000), ("config.json", 900), ("labels.txt", 300), ("notebook.ipynb", 60_000))
_LOOSE_PIPELINES: Final = ("image-classification", "text-classification", "object-detection",
                           "tabular-classification", "text-generation", "audio-classification",
                           "image-segmentation", "time-series-forecasting", "graph-ml", "depth-estimation")


def _loose_files(d: _Draft) -> None:
    """Weights in whatever format the author used, with scripts and no library metadata."""
    rng = d.rng
    topic = _TOPICS[rng.getrandbits(16) % len(_TOPICS)]
    style = _STYLES[rng.getrandbits(8) % len(_STYLES)]
    d.name = (f"{topic}-{style}", f"{topic}_model", f"{topic}-{style}-model", topic)[rng.getrandbits(8) % 4]
    first = rng.getrandbits(8) % len(_LOOSE_WEIGHTS)
    for k in range(1 + rng.getrandbits(1)):
        fname = _LOOSE_WEIGHTS[(first + 5 * k) % len(_LOOSE_WEIGHTS)]
        d.add(fname, 50_000 + rng.getrandbits(28))
        if fname.endswith(".onnx"):
            d.frameworks.append("onnx")
        elif fname.endswith(".tflite"):
            d.frameworks.append("tflite")
    first = rng.getrandbits(8) % len(_LOOSE_EXTRAS)
    for k in range(rng.getrandbits(2)):
        fname, size = _LOOSE_EXTRAS[(first + k) % len(_LOOSE_EXTRAS)]
        d.add(fname, size + rng.getrandbits(10))
    roll = rng.random()
    if roll < 0.6:
        card: Record = {}
        if rng.random() < 0.55:
            license_id = _LICENSES.pick(rng) if rng.random() > 0.03 else _ODD_LICENSES[rng.getrandbits(4) % 5]
            _license_fields(card, license_id, rng)
        if rng.random() < 0.4 or not card:
            card["tags"] = [topic]
        if rng.random() < 0.18:
            d.pipeline = _LOOSE_PIPELINES[rng.getrandbits(8) % len(_LOOSE_PIPELINES)]
            card["pipeline_tag"] = d.pipeline
        if rng.random() < 0.05:
            card["language"] = _languages(rng)
        if rng.random() < 0.06:
            card["datasets"] = [f"{_oneoff_author(rng.getrandbits(20))}/{topic}-data"]
        d.card = card


def _empty_repo(d: _Draft) -> None:
    """Placeholders, abandoned experiments and name squats: a .gitattributes and maybe a README."""
    rng = d.rng
    topic = _TOPICS[rng.getrandbits(16) % len(_TOPICS)]
    d.name = (topic, f"{topic}-test", "test", "my-model", f"{topic}-demo", "model")[rng.getrandbits(8) % 6]
    if rng.random() < 0.42:
        card: Record = {}
        if rng.random() < 0.6:
            _license_fields(card, _LICENSES.pick(rng), rng)
        else:
            card["tags"] = [topic]
        if rng.random() < 0.05:
            d.pipeline = _LOOSE_PIPELINES[rng.getrandbits(8) % len(_LOOSE_PIPELINES)]
            card["pipeline_tag"] = d.pipeline
        d.card = card


def _legacy(d: _Draft) -> None:
    """A canonical-era model under a pre-2024 un-namespaced id."""
    rng = d.rng
    base = _LEGACY_BASES.pick(rng)
    task = _TASKS[_KIND_TASKS[base.kind].pick(rng)]
    d.name = base.short
    _transformers_common(d, base, task)
    _weights(d, base.params, "F32")
    if rng.random() < 0.3:
        d.frameworks.append("jax")
        d.add("flax_model.msgpack", base.params * 4 + 30_000)
    _tokenizer(d, base)
    card: Record = {"language": "en" if rng.random() < 0.7 else ["en", _LANGUAGES.pick(rng)]}
    if rng.random() < 0.8:
        _license_fields(card, base.license or "apache-2.0", rng)
    card["tags"] = [task.pipeline or "multiple-choice"]
    if rng.random() < 0.5:
        card["datasets"] = [task.datasets[rng.getrandbits(8) % len(task.datasets)]]
    if rng.random() < 0.5:
        d.arxiv = [_arxiv_id(rng)]
    d.card = card


_WIDGET_TEXT: Final = (
    "The quarterly report beat every forecast we had.", "I waited forty minutes and nobody came.",
    "Where is the nearest train station?", "Once upon a time, in a valley full of fog,",
    "The new library opens on Monday at nine.", "This recipe needs more salt and less sugar.",
)


# Papers model cards cite most: LoRA, QLoRA, DPO, BERT, the Transformer, T5, wav2vec 2.0, Whisper, ViT.
_METHOD_PAPERS: Final = ("2106.09685", "2305.14314", "2305.18290", "1810.04805", "1706.03762", "1910.10683",
                         "2006.11477", "2212.04356", "2010.11929")


def _arxiv_id(rng: random.Random) -> str:
    if rng.random() < 0.4:
        return _METHOD_PAPERS[rng.getrandbits(8) % len(_METHOD_PAPERS)]
    year = 18 + rng.getrandbits(3) % 7
    return f"{year:02d}{1 + rng.getrandbits(4) % 12:02d}.{rng.getrandbits(14) % 20000:05d}"


_ARCHETYPES: Final[_Choice[Callable[[_Draft], None]]] = _Choice([
    (_trainer_finetune, 0.235),
    (_llm_finetune, 0.07),
    (_pretrained, 0.06),
    (_bare_transformers, 0.055),
    (_sentence_transformers, 0.015),
    (_peft_adapter, 0.025),
    (_diffusers, 0.015),
    (_rl, 0.051),
    (_other_library, 0.031),
    (_gguf, 0.03),
    (_sd_files, 0.05),
    (_loose_files, 0.19),
    (_empty_repo, 0.173),
])
# Only these can be older than the Hub's creation dates.
_OLD_ARCHETYPES: Final[_Choice[Callable[[_Draft], None]]] = _Choice([
    (_trainer_finetune, 0.45), (_pretrained, 0.2), (_rl, 0.05), (_loose_files, 0.15), (_empty_repo, 0.15),
])
_P_OLD: Final = 0.07


def record_rng(seed: int, index: int) -> random.Random:
    """The random stream of record ``index`` in corpus ``seed`` (what :func:`generate_models` uses)."""
    return random.Random(((seed & 0xFFFF_FFFF_FFFF_FFFF) << 64) | index)


def generate_models(
    n: int, seed: int = 0, base_time: datetime = DEFAULT_BASE_TIME, *,
    malformed_rate: float = DEFAULT_MALFORMED_RATE,
) -> Iterator[Record]:
    """Records ``0 .. n-1`` of corpus ``seed``; record ``i`` does not depend on ``n``."""
    if not 0 <= n <= MAX_INDEX:
        raise ValueError(f"n must be between 0 and {MAX_INDEX}")
    rng = random.Random()
    key = (seed & 0xFFFF_FFFF_FFFF_FFFF) << 64
    for index in range(n):
        rng.seed(key | index)  # reseeding one generator is cheaper than building one per record
        yield generate_model(index, rng, base_time=base_time, malformed_rate=malformed_rate)


def generate_model(
    index: int, rng: random.Random, *, base_time: datetime = DEFAULT_BASE_TIME,
    malformed_rate: float = DEFAULT_MALFORMED_RATE,
) -> Record:
    """One raw model record; ``index`` fixes its id, ``rng`` everything else.

    ``base_time`` (timezone-aware) is "now" for the corpus: nothing is created or modified later.
    """
    if not 0 <= index < MAX_INDEX:
        raise ValueError(f"index must be between 0 and {MAX_INDEX - 1}")
    # Drawn first so that changing the rate never changes the well-formed records.
    malformed = rng.random() < malformed_rate
    base_ts = int(base_time.timestamp())
    p = _perm(index)
    legacy = p < _LEGACY_END
    # A corpus dated before the Hub began recording creation dates has no such old repositories.
    after_migration = base_ts > _MIGRATION_TS + 86_400 * 30
    old = after_migration and (legacy or rng.random() < _P_OLD)
    created, modified, made = _times(rng, base_ts, old)
    d = _Draft(rng, made)
    if legacy:
        _legacy(d)
    elif old:
        _OLD_ARCHETYPES.pick(rng)(d)
    else:
        _ARCHETYPES.pick(rng)(d)
    if legacy:
        # The Hub reports the organisation that now owns a canonical model as its author.
        author = _BASE_BY_SHORT[d.name].id.partition("/")[0]
        repo_id = f"{d.name}-{_letters(p)}"
    elif p < _ONEOFF_END:
        author = _oneoff_author(p)
        repo_id = f"{author}/{d.name}"
    else:
        k = bisect.bisect_right(_POOL_BOUNDS, p) - 1
        author = _pool_author(k)
        repo_id = f"{author}/{_numbered(d.name, p - _POOL_BOUNDS[k], rng)}"
    index_entries = d.card.get("model-index") if d.card is not None else None
    if index_entries and index_entries[0]["name"] == d.name:  # the Trainer names it after the repository
        index_entries[0]["name"] = repo_id.rpartition("/")[2]
    record = _assemble(d, repo_id, author, created, modified)
    if malformed:
        malform(record, rng)
    return record


def _times(rng: random.Random, base_ts: int, old: bool) -> tuple[int, int, int]:
    """(createdAt, lastModified, when the model was made) as unix seconds."""
    if old:
        made = _T_OLDEST + int(rng.random() * (_MIGRATION_TS - _T_OLDEST))
        created = _MIGRATION_TS + rng.getrandbits(1)
        # Most old repositories were touched again since (bots added safetensors, metadata, ...).
        modified = created + int((base_ts - created) * rng.random() ** 1.5)
        return created, modified, made
    start = _MIGRATION_TS + 86_400 if base_ts > _MIGRATION_TS + 86_400 * 30 else base_ts - 86_400 * 1_100
    # The Hub grows roughly exponentially, so recent creation dates are the common ones.
    created = start + int((base_ts - start) * rng.random() ** 0.55)
    roll = rng.random()
    if roll < 0.55:
        delta = rng.getrandbits(12)
    elif roll < 0.85:
        delta = rng.getrandbits(21)
    else:
        delta = int((base_ts - created) * rng.random())
    return created, min(created + delta, base_ts), created


def _popularity(rng: random.Random) -> tuple[int, int]:
    # Pareto tails: four in ten models see no download in a month, a handful see millions.
    downloads = 0 if rng.random() < 0.4 else min(int(8 * (rng.paretovariate(0.62) - 1)), 150_000_000)
    likes = int(0.005 * downloads**0.87 * rng.paretovariate(2.5))
    if rng.random() < 0.1:
        likes += 1  # authors like their own repositories
    return downloads, likes


def _assemble(d: _Draft, repo_id: str, author: str, created: int, modified: int) -> Record:
    rng = d.rng
    downloads, likes = _popularity(rng)
    card = d.card
    files = d.files
    if created < _T_GITATTRIBUTES_2021:
        files.append((".gitattributes", 1175, "gitattributes/2020"))
    elif created < _T_GITATTRIBUTES_2023:
        files.append((".gitattributes", 1477, "gitattributes/2021"))
    else:
        files.append((".gitattributes", 1519, "gitattributes/2023"))
    if card is not None:
        files.append(("README.md", 400 + rng.getrandbits(13), None))
    elif rng.random() < 0.4:  # a README without front matter yields no cardData
        files.append(("README.md", 30 + rng.getrandbits(9), None))
    files.sort()
    siblings: list[Record] = []
    total = 0
    getrandbits = rng.getrandbits
    # One draw for every file's git and LFS ids; bytes.hex is far cheaper than formatting big ints.
    ids = rng.randbytes(52 * len(files)).hex()
    at = 0
    for path, size, key in files:
        total += size
        if key is None:
            blob = ids[at:at + 40]
            sha = ids[at + 40:at + 104]
        else:
            blob, sha = _content_ids(key)
        at += 104
        lfs = _LFS_SEEN.get(path)
        if lfs is None:
            lfs = _lfs(path)
        if lfs:
            siblings.append({"rfilename": path, "size": size, "blobId": blob,
                             "lfs": {"sha256": sha, "size": size, "pointerSize": 125 + len(str(size))}})
        else:
            siblings.append({"rfilename": path, "size": size, "blobId": blob})

    tags: list[str] = []
    if d.library is not None:
        tags.append(d.library)
    frameworks = d.frameworks
    if len(frameworks) == 1:
        tags.append(frameworks[0])
    elif frameworks:
        tags.extend(sorted(set(frameworks), key=_FRAMEWORK_ORDER.__getitem__))
    config = d.config
    if config is not None and config.get("model_type"):
        tags.append(config["model_type"])
    if d.pipeline is not None:
        tags.append(d.pipeline)
    if card is not None:
        tags.extend(card.get("tags") or ())
        tags.extend(d.extra_tags)
        lang = card.get("language")
        if lang:
            tags.extend([lang] if isinstance(lang, str) else lang)
        datasets = card.get("datasets")
        if datasets:
            tags.extend(["dataset:" + ds for ds in datasets])
        if d.arxiv:
            tags.extend(["arxiv:" + a for a in d.arxiv])
        relation = card.get("base_model_relation", d.relation)
        for b in d.base_models:
            tags.append("base_model:" + b)
            tags.append(f"base_model:{relation}:{b}")
        license_id = card.get("license")
        if license_id in _HUB_LICENSES:
            tags.append("license:" + license_id)
        if "model-index" in card:
            tags.append("model-index")
    else:
        tags.extend(d.extra_tags)
    tags.extend(d.compat)
    tags.append("region:us")

    gate = rng.random()
    record: Record = {
        "_id": f"{created:08x}{getrandbits(64):016x}",
        "id": repo_id,
        "private": False,
    }
    if d.pipeline is not None:
        record["pipeline_tag"] = d.pipeline
    if d.library is not None:
        record["library_name"] = d.library
    record["tags"] = list(dict.fromkeys(tags))
    record["downloads"] = downloads
    record["likes"] = likes
    record["modelId"] = repo_id
    record["author"] = author
    record["sha"] = f"{getrandbits(160):040x}"
    record["lastModified"] = _iso(modified)
    record["gated"] = False if gate > 0.02 else ("auto" if gate < 0.012 else "manual")
    record["disabled"] = gate > 0.9997
    if d.mask_token is not None:
        record["mask_token"] = d.mask_token
    if d.pipeline is not None and d.library == "transformers" and rng.random() < 0.5:
        record["widgetData"] = [{"text": _WIDGET_TEXT[(created + i) % len(_WIDGET_TEXT)]} for i in range(2)]
    if card is not None:
        model_index = card.get("model-index")
        # A separate object, as in a parsed response, so editing one copy leaves the other alone.
        record["model-index"] = _copy_model_index(model_index) if model_index else None
    if config is not None:
        record["config"] = config
    if card is not None:
        record["cardData"] = card
    if d.tinfo is not None:
        record["transformersInfo"] = d.tinfo
    record["siblings"] = siblings
    record["spaces"] = _spaces(rng, downloads)
    record["createdAt"] = _iso(created)
    if d.params is not None:  # set only with a root model.safetensors (or its shards)
        record["safetensors"] = {"parameters": d.params, "total": sum(d.params.values())}
    if d.gguf is not None:
        record["gguf"] = d.gguf
    if downloads > 5_000 and d.pipeline is not None and rng.random() < 0.4:
        record["inference"] = "warm"
    history = 1.0 if rng.random() < 0.6 else 1.0 + rng.random() * 1.5  # older revisions count too
    record["usedStorage"] = int(total * history)
    return record


def _copy_model_index(index: list[Record]) -> list[Record]:
    return [
        {"name": entry["name"], "results": [
            {"task": dict(r["task"]), "dataset": dict(r["dataset"]), "metrics": [dict(m) for m in r["metrics"]]}
            for r in entry["results"]
        ]}
        for entry in index
    ]


def _spaces(rng: random.Random, downloads: int) -> list[str]:
    # Popular models are used by demo Spaces; the listing stops at 100 of them.
    if downloads < 200 or rng.random() > (downloads / 50_000) ** 0.5:
        return []
    count = min(100, int(rng.paretovariate(0.9)))
    return [
        f"{_oneoff_author(rng.getrandbits(22))}/{_TOPICS[rng.getrandbits(8) % len(_TOPICS)]}-demo"
        for _ in range(count)
    ]


# ---------------------------------------------------------------------------------------------
# Malformed records: shapes real Hub responses do carry, which naive parsers trip over.
# ---------------------------------------------------------------------------------------------


def _card_for_malform(record: Record) -> Record:
    card = record.get("cardData")
    if not isinstance(card, dict):
        card = {}
        record["cardData"] = card
        record.setdefault("model-index", None)
    return card


def _m_card_list(record: Record, rng: random.Random) -> None:
    record["cardData"] = [] if rng.random() < 0.5 else ["license: mit", "tags: demo"]


def _m_missing_dates(record: Record, rng: random.Random) -> None:
    for key in ("lastModified", "createdAt") if rng.random() < 0.5 else ("lastModified",):
        record.pop(key, None)


def _m_missing_author(record: Record, rng: random.Random) -> None:
    record.pop("author", None)


def _m_language_dict(record: Record, rng: random.Random) -> None:
    _card_for_malform(record)["language"] = {"en": "English", "fr": "French"}


def _m_base_model_dicts(record: Record, rng: random.Random) -> None:
    parent = _BASES[rng.getrandbits(8) % len(_BASES)].id
    _card_for_malform(record)["base_model"] = [{"name": parent, "relation": "finetune"}]


def _m_datasets_string(record: Record, rng: random.Random) -> None:
    _card_for_malform(record)["datasets"] = ("squad", "imdb", "common_voice")[rng.getrandbits(4) % 3]


def _m_model_index(record: Record, rng: random.Random) -> None:
    value: Any = record["id"].rpartition("/")[2] if rng.random() < 0.5 else ["results", "accuracy: 0.91"]
    _card_for_malform(record)["model-index"] = value
    record["model-index"] = value


def _m_safetensors_total(record: Record, rng: random.Random) -> None:
    params = record.get("safetensors", {}).get("parameters") or {"F32": 1_000_000 + rng.getrandbits(24)}
    record["safetensors"] = {"parameters": params}


def _m_sibling_size(record: Record, rng: random.Random) -> None:
    for sibling in record["siblings"]:
        if rng.random() < 0.5 or sibling["rfilename"] == ".gitattributes":
            sibling.pop("size", None)


def _m_dates_inverted(record: Record, rng: random.Random) -> None:
    # Repositories last pushed before 2022-03-02 report that date as creation, after the last commit.
    record["createdAt"] = HUB_CREATION_EPOCH
    record["lastModified"] = _iso(_T_OLDEST + int(rng.random() * (_MIGRATION_TS - _T_OLDEST)))


def _m_license_list(record: Record, rng: random.Random) -> None:
    _card_for_malform(record)["license"] = ["mit", "apache-2.0"] if rng.random() < 0.5 else ["other"]


MALFORMATIONS: Final[dict[str, Callable[[Record, random.Random], None]]] = {
    "card_data_list": _m_card_list,
    "missing_dates": _m_missing_dates,
    "missing_author": _m_missing_author,
    "language_dict": _m_language_dict,
    "base_model_dicts": _m_base_model_dicts,
    "datasets_string": _m_datasets_string,
    "model_index_malformed": _m_model_index,
    "safetensors_without_total": _m_safetensors_total,
    "sibling_without_size": _m_sibling_size,
    "dates_inverted": _m_dates_inverted,
    "license_list": _m_license_list,
}
_MALFORMATION_NAMES: Final = tuple(MALFORMATIONS)


def malform(record: Record, rng: random.Random, kind: str | None = None) -> str:
    """Break ``record`` in place the way real responses are broken; returns the kind applied."""
    if kind is None:
        kind = _MALFORMATION_NAMES[rng.getrandbits(16) % len(_MALFORMATION_NAMES)]
    MALFORMATIONS[kind](record, rng)
    return kind


# ---------------------------------------------------------------------------------------------
# Model cards
# ---------------------------------------------------------------------------------------------

_RL_LIBRARIES: Final = frozenset({"stable-baselines3", "ml-agents", "cleanrl", "sample-factory"})
_TRAINER_VERSIONS: Final = (
    (_ts("2022-01-01"), "4.12.5", "1.10.0+cu111", "1.16.1", "0.10.3"),
    (_ts("2023-01-01"), "4.24.0", "1.12.1+cu113", "2.7.1", "0.13.2"),
    (_ts("2024-01-01"), "4.35.2", "2.1.0+cu118", "2.15.0", "0.15.0"),
    (_ts("2025-01-01"), "4.44.2", "2.4.1+cu121", "3.0.1", "0.19.1"),
    (1 << 62, "4.51.3", "2.6.0+cu124", "3.5.0", "0.21.1"),
)
_GITHUB_REPOS: Final = ("train-scripts", "nlp-experiments", "model-zoo", "thesis-code", "finetune-kit",
                        "benchmarks", "research", "paper-code")


_YAML_DUMPER: Final = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml when built with it


def _yaml_block(data: Any) -> str:
    return yaml.dump(data, Dumper=_YAML_DUMPER, sort_keys=False, allow_unicode=True,
                     default_flow_style=False, width=1000)


def _record_time(record: Record) -> int:
    stamp = record.get("lastModified") or record.get("createdAt") or HUB_CREATION_EPOCH
    return calendar.timegm(time.strptime(stamp[:19], "%Y-%m-%dT%H:%M:%S"))


def _first_base(card: Record, name: str) -> str | None:
    base = card.get("base_model")
    if isinstance(base, list):
        base = base[0] if base else None
    if isinstance(base, str):
        return base
    # Older cards name their parent only in prose; the repository name usually starts with it.
    for short, known in _BASE_BY_SHORT.items():
        if name.startswith(short + "-"):
            return short if known.legacy else known.id
    return None


def _results(card: Record) -> list[tuple[str, str, Any]]:
    out: list[tuple[str, str, Any]] = []
    index = card.get("model-index")
    if not isinstance(index, list):
        return out
    for entry in index:
        if not isinstance(entry, dict):
            continue
        for result in entry.get("results") or ():
            dataset = result.get("dataset", {}).get("name", "")
            for metric in result.get("metrics", ()):
                out.append((dataset, metric.get("name") or metric.get("type", ""), metric.get("value")))
    return out


def _trainer_body(record: Record, card: Record, rng: random.Random, keras: bool) -> list[str]:
    name = record["id"].rpartition("/")[2]
    base = _first_base(card, name)
    datasets = card.get("datasets")
    results = _results(card)
    dataset = results[0][0] if results else (datasets[0] if isinstance(datasets, list) and datasets else None)
    lines = [
        "<!-- This model card has been generated automatically according to the information "
        f"{'Keras' if keras else 'the Trainer'} had access to. You should",
        "probably proofread and complete it, then remove this comment. -->", "", f"# {name}", "",
    ]
    on = f"the {dataset} dataset" if dataset else ("the None dataset" if rng.random() < 0.3 else "an unknown dataset")
    if base is not None:
        lines.append(f"This model is a fine-tuned version of [{base}](https://huggingface.co/{base}) on {on}.")
    else:
        lines.append(f"This model was trained from scratch on {on}.")
    lines.append("It achieves the following results on the evaluation set:")
    loss = round(rng.uniform(0.05, 2.5), 4)
    lines.append(f"- {'Train Loss' if keras else 'Loss'}: {loss}")
    lines.extend(f"- {metric}: {value}" for _, metric, value in results)
    lines += ["", "## Model description", "", "More information needed", "",
              "## Intended uses & limitations", "", "More information needed", "",
              "## Training and evaluation data", "", "More information needed", "",
              "## Training procedure", "", "### Training hyperparameters", "",
              "The following hyperparameters were used during training:"]
    epochs = 1 + rng.getrandbits(2)
    if keras:
        lr = ("2e-05", "3e-05", "5e-05")[rng.getrandbits(4) % 3]
        lines.append(f"- optimizer: {{'name': 'AdamWeightDecay', 'learning_rate': {lr}, 'decay': 0.0, "
                     "'beta_1': 0.9, 'beta_2': 0.999, 'epsilon': 1e-07, 'amsgrad': False}")
        lines.append("- training_precision: float32")
    else:
        batch = (8, 16, 32, 4)[rng.getrandbits(4) % 4]
        lines += [f"- learning_rate: {('2e-05', '5e-05', '0.0001', '3e-05', '0.0002')[rng.getrandbits(4) % 5]}",
                  f"- train_batch_size: {batch}", f"- eval_batch_size: {batch}",
                  f"- seed: {(42, 42, 1, 1234)[rng.getrandbits(4) % 4]}"]
        if rng.random() < 0.3:
            lines += ["- gradient_accumulation_steps: 4", f"- total_train_batch_size: {batch * 4}"]
        lines += ["- optimizer: Adam with betas=(0.9,0.999) and epsilon=1e-08",
                  f"- lr_scheduler_type: {('linear', 'cosine', 'linear')[rng.getrandbits(4) % 3]}"]
        if rng.random() < 0.3:
            lines.append("- lr_scheduler_warmup_ratio: 0.1")
        lines.append(f"- num_epochs: {epochs}")
        if rng.random() < 0.3:
            lines.append("- mixed_precision_training: Native AMP")
    header = ["Training Loss", "Epoch", "Step", "Validation Loss"] + [m for _, m, _ in results]
    lines += ["", "### Training results", "", "| " + " | ".join(header) + " |",
              "|" + "|".join(":" + "-" * max(3, len(h)) + ":" for h in header) + "|"]
    steps = 100 * (1 + rng.getrandbits(5))
    no_log = rng.random() < 0.3  # the Trainer logs no training loss before its first logging step
    for epoch in range(1, epochs + 1):
        train = "No log" if epoch == 1 and no_log else f"{loss * (1.1 + (epochs - epoch) * 0.3):.4f}"
        cells = [train, f"{float(epoch):.1f}", str(steps * epoch), f"{loss * (1 + (epochs - epoch) * 0.2):.4f}"]
        cells += [f"{v:.4f}" if isinstance(v, float) else str(v) for _, _, v in results]
        lines.append("| " + " | ".join(cells) + " |")
    stamp = _record_time(record)
    versions = next(v for v in _TRAINER_VERSIONS if stamp < v[0])
    lines += ["", "", "### Framework versions", "", f"- Transformers {versions[1]}"]
    lines.append(f"- TensorFlow {('2.9.2', '2.12.0')[rng.getrandbits(1)]}" if keras else f"- Pytorch {versions[2]}")
    lines += [f"- Datasets {versions[3]}", f"- Tokenizers {versions[4]}"]
    return lines


def _rl_body(record: Record, card: Record) -> list[str]:
    results = _results(card)
    env, _, reward = results[0] if results else ("the environment", "", "")
    library = record.get("library_name") or "a custom implementation"
    index = card.get("model-index")
    agent = index[0].get("name", "agent") if isinstance(index, list) and index and isinstance(index[0], dict) \
        else "agent"
    weights = next((s["rfilename"] for s in record.get("siblings") or ()
                    if isinstance(s, dict) and "/" not in s["rfilename"]
                    and s["rfilename"].endswith((".zip", ".cleanrl_model", ".pkl", ".onnx"))), "model.zip")
    return [
        f"# **{agent}** Agent playing **{env}**",
        f"This is a trained model of a **{agent}** agent playing **{env}** using {library}.",
        "", f"Mean reward over ten evaluation episodes: {reward}.", "",
        "## Usage", "", "```python",
        f'model = load_from_hub(repo_id="{record["id"]}", filename="{weights}")', "```",
    ]


def _template_body(record: Record, card: Record) -> list[str]:
    # The library's default card: every section present, none filled in.
    todo = "[More Information Needed]"
    base = _first_base(card, "")
    lines = [f"# Model Card for {record['id'].rpartition('/')[2]}", "",
             "<!-- Provide a quick summary of what the model is/does. -->", "", "", "",
             "## Model Details", "", "### Model Description", ""]
    lines += [f"- **{field}:** {todo}" for field in
              ("Developed by", "Funded by [optional]", "Shared by [optional]", "Model type",
               "Language(s) (NLP)", "License")]
    lines.append(f"- **Finetuned from model [optional]:** {base or todo}")
    for section in ("Uses", "Bias, Risks, and Limitations", "Training Details", "Evaluation",
                    "Environmental Impact", "Citation [optional]"):
        lines += ["", f"## {section}", "", todo]
    lines += ["", "### Framework versions", "", "- PEFT 0.13.2"] if record.get("library_name") == "peft" else []
    return lines


def _written_body(record: Record, card: Record, rng: random.Random) -> list[str]:
    name = record["id"].rpartition("/")[2]
    pipeline = record.get("pipeline_tag")
    base = _first_base(card, name)
    task_words = pipeline.replace("-", " ") if pipeline else "machine learning"
    lines = [f"# {name}", "", f"A {task_words} model"
             + (f" built on [{base}](https://huggingface.co/{base})." if base else " trained by its author."), ""]
    lines += ["## Model description", "",
              f"This checkpoint targets {task_words}. It was trained on a single GPU and kept small on purpose.",
              ""]
    parents = card.get("base_model")
    if isinstance(parents, list) and len(parents) > 1 and all(isinstance(p, str) for p in parents):
        links = " and ".join(f"[{p}](https://huggingface.co/{p})" for p in parents)
        lines += [f"This is a merge of {links}, made with mergekit.", ""]
    elif base is not None and rng.random() < 0.8:
        lines += [f"This model is a fine-tuned version of [{base}](https://huggingface.co/{base}).", ""]
    lines += ["## Intended uses & limitations", "",
              "Meant for research and prototypes. It has not been evaluated for bias and can be confidently"
              " wrong; keep a human in the loop.", ""]
    datasets = card.get("datasets")
    lines += ["## Training and evaluation data", ""]
    if isinstance(datasets, list) and datasets:
        lines.append("Trained on " + ", ".join(f"[{ds}](https://huggingface.co/datasets/{ds})" for ds in datasets)
                     + ".")
    else:
        lines.append("The training data is not public.")
    results = _results(card)
    if results or rng.random() < 0.3:
        rows = results or [("held-out split", "accuracy", round(rng.uniform(0.6, 0.95), 3))]
        lines += ["", "## Evaluation results", "", "| Dataset | Metric | Value |", "|---|---|---|"]
        lines += [f"| {ds} | {metric} | {value} |" for ds, metric, value in rows]
    if record.get("library_name") == "transformers" and pipeline:
        lines += ["", "## How to use", "", "```python", "from transformers import pipeline", "",
                  f'pipe = pipeline("{pipeline}", model="{record["id"]}")', "```"]
    return lines


def _github_url(record: Record, rng: random.Random) -> str:
    owner = record.get("author") or _oneoff_author(rng.getrandbits(20))
    return f"https://github.com/{owner}/{_GITHUB_REPOS[rng.getrandbits(8) % len(_GITHUB_REPOS)]}"


def _citation(record: Record, arxiv: list[str], rng: random.Random) -> list[str]:
    key = record["id"].rpartition("/")[2].replace("-", "").replace(".", "")[:20].lower()
    first = arxiv[0]
    lines = ["", "## Citation", "", "```bibtex", f"@article{{{key}20{first[:2]},",
             f"  title={{{record['id'].rpartition('/')[2]}: a {record.get('pipeline_tag') or 'model'} study}},",
             f"  journal={{arXiv preprint arXiv:{first}}},", f"  year={{20{first[:2]}}}", "}", "```"]
    lines += [f"See also https://arxiv.org/abs/{a}." for a in arxiv[1:]]
    if rng.random() < 0.5:
        lines.insert(0, "")
        lines.insert(1, f"Paper: [arXiv:{first}](https://arxiv.org/abs/{first})")
    return lines


def _bad_front_matter(rng: random.Random) -> str:
    return (
        "---\nlicense: apache-2.0\ntags:\n- text-classification\n  - nested: [unclosed\nlanguage: en\n---\n",
        "---\nlicense: mit\n\tdatasets: imdb\n---\n",
        '---\ntitle: "unterminated\nlicense: mit\n---\n',
    )[rng.getrandbits(4) % 3]


def generate_card(record: Record, rng: random.Random, *, edge_rate: float = DEFAULT_CARD_EDGE_RATE) -> str:
    """README.md text for ``record``: front matter equal to its ``cardData``, then markdown.

    A record without ``cardData`` gets a card without usable metadata. At ``edge_rate`` the card is
    one of the awkward shapes real READMEs have: CRLF line endings, a byte-order mark or blank lines
    before the front matter (metadata unchanged), or, for records without metadata, invalid YAML or
    an unrendered template.
    """
    card = record.get("cardData")
    arxiv = [t[6:] for t in record.get("tags", ()) if t.startswith("arxiv:")]
    edge = rng.random() < edge_rate
    if card is None:
        if edge:
            if rng.random() < 0.5:
                return _bad_front_matter(rng) + f"\n# {record['id'].rpartition('/')[2]}\n"
            return '---\n{{ card_data }}\n---\n\n# {{ model_name | default("MyModelName", true) }}\n\n{{ some_data }}\n'
        body = _written_body(record, {}, rng) if rng.random() < 0.5 else [f"# {record['id'].rpartition('/')[2]}"]
        if arxiv:
            body += _citation(record, arxiv, rng)
        return "\n".join(body) + "\n"
    front = "---\n" + _yaml_block(card) + "---\n"
    card_dict: Record = card if isinstance(card, dict) else {}
    tags = card_dict.get("tags")
    tags = tags if isinstance(tags, list) else []
    library = record.get("library_name")
    keys = set(card_dict)
    if "generated_from_trainer" in tags or "generated_from_keras_callback" in tags:
        body = _trainer_body(record, card_dict, rng, "generated_from_keras_callback" in tags)
    elif library in _RL_LIBRARIES or "reinforcement-learning" in tags:
        body = _rl_body(record, card_dict)
    elif library in ("transformers", "peft") and keys <= {"library_name", "tags", "base_model", "license"}:
        body = _template_body(record, card_dict)
    else:
        body = _written_body(record, card_dict, rng)
    if arxiv:
        body += _citation(record, arxiv, rng)
    if rng.random() < 0.5:
        body += ["", f"Code: {_github_url(record, rng)}"]
    text = front + "\n" + "\n".join(body) + "\n"
    if edge:
        roll = rng.random()
        if roll < 0.4:
            text = text.replace("\n", "\r\n")
        elif roll < 0.7:
            text = "\ufeff" + text
        else:
            text = "\n" + text
    return text


# ---------------------------------------------------------------------------------------------
# Commit history (``GET /api/models/{id}/commits/{rev}``, newest first)
# ---------------------------------------------------------------------------------------------

_COMMIT_TITLES: Final = (
    "Upload folder using huggingface_hub", "Update README.md", "Upload model", "Upload tokenizer",
    "Training in progress, epoch 1", "Training in progress, step 500", "End of training", "Upload 4 files",
    "Create README.md", "Add model card", "Upload config.json with huggingface_hub", "Model save",
)
_BOT_COMMITS: Final = (
    ("SFconvertbot", "Adding `safetensors` variant of this model",
     "This is an automated PR created with https://huggingface.co/spaces/safetensors/convert"),
    ("librarian-bot", "Librarian Bot: Add base_model information to model",
     "This pull request aims to enrich the metadata of your model by adding a `base_model` field."),
)


def _avatar(user: str) -> str:
    return f"/avatars/{hashlib.md5(user.encode(), usedforsecurity=False).hexdigest()}.svg"


def generate_commits(record: Record, rng: random.Random, n: int | None = None) -> list[Record]:
    """Commit list for ``record``, newest first; the newest id is the record's ``sha``.

    The oldest of two or more commits is the Hub's ``initial commit`` by ``system``. Repositories
    that predate the Hub's creation dates get a first commit older than ``createdAt``.
    """
    if n is None:
        n = 2 + min(int(rng.paretovariate(1.3)) - 1, 60)
    if n < 1:
        raise ValueError("a repository has at least one commit")
    newest = _record_time(record)
    created_iso = record.get("createdAt") or record.get("lastModified") or HUB_CREATION_EPOCH
    oldest = calendar.timegm(time.strptime(created_iso[:19], "%Y-%m-%dT%H:%M:%S"))
    if created_iso.startswith(HUB_CREATION_EPOCH[:16]):
        oldest = _T_OLDEST + int(rng.random() * (min(newest, _MIGRATION_TS) - _T_OLDEST))
    oldest = min(oldest, newest)
    author = record.get("author") or record["id"].partition("/")[0]
    dates = sorted((oldest + int(rng.random() * (newest - oldest)) for _ in range(n - 2)), reverse=True)
    commits: list[Record] = []
    for i in range(n):
        if i == n - 1 and n > 1:
            commits.append({"id": f"{rng.getrandbits(160):040x}", "title": "initial commit", "message": "",
                            "authors": [{"user": "system"}], "date": _iso(oldest)})
            break
        date = newest if i == 0 else dates[i - 1]
        roll = rng.random()
        if i > 0 and roll < 0.08:
            user, title, message = _BOT_COMMITS[rng.getrandbits(1)]
        else:
            user = author
            title = _COMMIT_TITLES[rng.getrandbits(8) % len(_COMMIT_TITLES)]
            message = "" if roll < 0.85 else "Trained for a few more epochs."
        commits.append({
            "id": (record.get("sha") if i == 0 else None) or f"{rng.getrandbits(160):040x}",
            "title": title, "message": message,
            "authors": [{"user": user, "avatar": _avatar(user)}],
            "date": _iso(date),
        })
    return commits
