"""A labelled corpus of small repositories shaped like real downstream code, for measuring the usage analyzer.

Labels are comments on the line of each call site that loads a pre-trained model:
``# expect: <hub id>`` (several separated by ``|`` when one call site loads several), ``# expect: ?`` when
the id cannot be known from the repository, ``# expect: local`` for a local path. Lines without a label
are negatives: nothing loads a model there. The labels say what the code really loads, not what the
analyzer is able to find (interprocedural flow and conditional expressions are labelled with the truth).
Notebook labels are in the cells' source, at (cell index, line in cell).
"""

# The repositories below are data: their lines are as long as real code's, labels included.
# ruff: noqa: E501

from __future__ import annotations

import json
import re
from pathlib import Path

_LABEL = re.compile(r"#\s*expect:\s*(.+?)\s*$")

Files = dict[str, str | bytes]


def notebook(cells: list[tuple[str, str]]) -> str:
    """An nbformat 4 notebook of (cell type, source) cells, sources split into lines as Jupyter stores them."""
    return json.dumps({
        "cells": [{"cell_type": kind, "metadata": {}, "source": src.splitlines(keepends=True),
                   **({"outputs": [], "execution_count": None} if kind == "code" else {})} for kind, src in cells],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3"}}, "nbformat": 4,
        "nbformat_minor": 5}, indent=1)


REPOS: dict[str, Files] = {}

# --- fine-tuning scripts in the style of the transformers examples -------------------------------------------

REPOS["glue-finetune"] = {
    "run_glue.py": '''\
import argparse
import logging

from datasets import load_dataset
from transformers import (
    AutoConfig,
    AutoModelForSequenceClassification,
    AutoTokenizer,
    Trainer,
    TrainingArguments,
)

logger = logging.getLogger(__name__)


def parse_args():
    parser = argparse.ArgumentParser(description="Finetune a transformers model on a GLUE task")
    parser.add_argument("--task_name", type=str, default="sst2")
    parser.add_argument("--model_name_or_path", type=str, default="bert-base-uncased",
                        help="Path to pretrained model or model identifier from huggingface.co/models")
    parser.add_argument("--output_dir", type=str, default="./outputs/sst2")
    parser.add_argument("--revision", default="main")
    return parser.parse_args()


def main():
    args = parse_args()
    raw = load_dataset("glue", args.task_name)
    config = AutoConfig.from_pretrained(args.model_name_or_path, num_labels=2, revision=args.revision)  # expect: bert-base-uncased
    tokenizer = AutoTokenizer.from_pretrained(args.model_name_or_path, use_fast=True)  # expect: bert-base-uncased
    model = AutoModelForSequenceClassification.from_pretrained(  # expect: bert-base-uncased
        args.model_name_or_path, config=config
    )
    training_args = TrainingArguments(output_dir=args.output_dir)
    trainer = Trainer(model=model, args=training_args, train_dataset=raw["train"], tokenizer=tokenizer)
    trainer.train()
    trainer.save_model(args.output_dir)
    model.save_pretrained(args.output_dir)
    tokenizer.save_pretrained(args.output_dir)
    model.push_to_hub("me/bert-sst2")
    logger.info("done")


if __name__ == "__main__":
    main()
''',
    "predict.py": '''\
import sys

import torch
from transformers import pipeline

OUTPUT_DIR = "./outputs/sst2"

classifier = pipeline("text-classification", model=OUTPUT_DIR, device=0 if torch.cuda.is_available() else -1)  # expect: local
baseline = pipeline("sentiment-analysis")  # expect: ?
zero_shot = pipeline(task="zero-shot-classification", model="facebook/bart-large-mnli")  # expect: facebook/bart-large-mnli
user_model = pipeline("text-classification", model=sys.argv[1])  # expect: ?

for line in sys.stdin:
    print(classifier(line), baseline(line))
''',
}

REPOS["hf-args-dataclass"] = {
    "train_clm.py": '''\
from dataclasses import dataclass, field
from typing import Optional

from transformers import AutoModelForCausalLM, AutoTokenizer, HfArgumentParser


@dataclass
class ModelArguments:
    model_name_or_path: Optional[str] = field(
        default="EleutherAI/pythia-160m", metadata={"help": "The model checkpoint for weights initialization."}
    )
    model_revision: str = field(default="main")
    trust_remote_code: bool = field(default=False)


def main():
    parser = HfArgumentParser((ModelArguments,))
    (model_args,) = parser.parse_args_into_dataclasses()
    tokenizer = AutoTokenizer.from_pretrained(model_args.model_name_or_path, revision=model_args.model_revision)  # expect: EleutherAI/pythia-160m
    model = AutoModelForCausalLM.from_pretrained(  # expect: EleutherAI/pythia-160m
        model_args.model_name_or_path,
        revision=model_args.model_revision,
        trust_remote_code=model_args.trust_remote_code,
    )
    model.resize_token_embeddings(len(tokenizer))
    return model


if __name__ == "__main__":
    main()
''',
}

# --- configuration read from the repository's own files -------------------------------------------------------

REPOS["config-driven"] = {
    "config.yaml": "model:\n  name: distilroberta-base\n  revision: 4f1b0c3b5e6a7d8c9f0e1d2c3b4a5f6e7d8c9b0a\n"
                   "data:\n  path: ./data/train.csv\nencoder_name: sentence-transformers/all-MiniLM-L6-v2\n",
    "settings.json": json.dumps({"generator": "gpt2-medium", "max_length": 64}),
    "pyproject.toml": '[tool.app]\nsummarizer = "sshleifer/distilbart-cnn-12-6"\n',
    "app.ini": "[models]\nner = dslim/bert-base-NER\n",
    "conf/omega.yaml": "backbone:\n  id: microsoft/resnet-50\n",
    "train.py": '''\
import yaml
from transformers import AutoModel, AutoTokenizer

with open("config.yaml") as fh:
    cfg = yaml.safe_load(fh)

tokenizer = AutoTokenizer.from_pretrained(cfg["model"]["name"])  # expect: distilroberta-base
model = AutoModel.from_pretrained(cfg["model"]["name"], revision=cfg["model"]["revision"])  # expect: distilroberta-base
data_path = cfg["data"]["path"]
''',
    "embed.py": '''\
import yaml
from sentence_transformers import SentenceTransformer

encoder = SentenceTransformer(yaml.safe_load(open("config.yaml"))["encoder_name"])  # expect: sentence-transformers/all-MiniLM-L6-v2
''',
    "generate.py": '''\
import json

from transformers import AutoModelForCausalLM

settings = json.load(open("settings.json"))
model = AutoModelForCausalLM.from_pretrained(settings["generator"])  # expect: gpt2-medium
max_length = settings.get("max_length", 32)
''',
    "summarize.py": '''\
import tomllib

from transformers import pipeline

with open("pyproject.toml", "rb") as f:
    project = tomllib.load(f)

summarizer = pipeline("summarization", model=project["tool"]["app"]["summarizer"])  # expect: sshleifer/distilbart-cnn-12-6
''',
    "ner.py": '''\
import configparser

from transformers import AutoModelForTokenClassification

config = configparser.ConfigParser()
config.read("app.ini")
ner = AutoModelForTokenClassification.from_pretrained(config["models"]["ner"])  # expect: dslim/bert-base-NER
ner_again = AutoModelForTokenClassification.from_pretrained(config.get("models", "ner"))  # expect: dslim/bert-base-NER
''',
    "vision.py": '''\
from omegaconf import OmegaConf
from transformers import AutoImageProcessor, ResNetForImageClassification

conf = OmegaConf.load("conf/omega.yaml")
processor = AutoImageProcessor.from_pretrained(conf.backbone.id)  # expect: microsoft/resnet-50
net = ResNetForImageClassification.from_pretrained(conf.backbone.id)  # expect: microsoft/resnet-50
''',
}

# --- constants in the repository's own modules --------------------------------------------------------------

REPOS["rag-app"] = {
    "constants.py": 'EMBEDDING_MODEL = "BAAI/bge-small-en-v1.5"\nLLM_ORG = "mistralai"\n'
                    'LLM_ID = f"{LLM_ORG}/Mistral-7B-Instruct-v0.2"\nRERANKER = "cross-encoder/ms-marco-MiniLM-L-6-v2"\n',
    "app/__init__.py": "",
    "app/settings.py": 'WHISPER_SIZE = "small"\nCHAT_TEMPLATE = "{role}: {content}"\n',
    "app/models.py": '''\
import whisper
from sentence_transformers import CrossEncoder, SentenceTransformer
from transformers import AutoModelForCausalLM, AutoTokenizer

from constants import EMBEDDING_MODEL, LLM_ID
import constants
from . import settings
from .settings import WHISPER_SIZE


def load_all():
    embedder = SentenceTransformer(EMBEDDING_MODEL)  # expect: BAAI/bge-small-en-v1.5
    reranker = CrossEncoder(constants.RERANKER, max_length=512)  # expect: cross-encoder/ms-marco-MiniLM-L-6-v2
    tokenizer = AutoTokenizer.from_pretrained(LLM_ID)  # expect: mistralai/Mistral-7B-Instruct-v0.2
    llm = AutoModelForCausalLM.from_pretrained(LLM_ID, device_map="auto")  # expect: mistralai/Mistral-7B-Instruct-v0.2
    asr = whisper.load_model(WHISPER_SIZE)  # expect: openai/whisper-small
    asr_large = whisper.load_model(settings.WHISPER_SIZE.replace("small", "medium"))  # expect: openai/whisper-medium
    return embedder, reranker, tokenizer, llm, asr, asr_large
''',
}

# --- classes: constants, attributes set in __init__, subclasses of library classes ------------------------------

REPOS["classes"] = {
    "model.py": '''\
import torch
from torch import nn
from transformers import BertModel, BertPreTrainedModel, AutoTokenizer


class Encoder(nn.Module):
    BACKBONE = "bert-base-cased"

    def __init__(self, backbone=None, dropout=0.1):
        super().__init__()
        self.bert = BertModel.from_pretrained(backbone or self.BACKBONE)  # expect: bert-base-cased
        self.drop = nn.Dropout(dropout)


class Classifier:
    def __init__(self, model_name="roberta-base", labels=2):
        self.model_name = model_name
        self.labels = labels

    def tokenizer(self):
        return AutoTokenizer.from_pretrained(self.model_name)  # expect: roberta-base


class BertForTagging(BertPreTrainedModel):
    def __init__(self, config):
        super().__init__(config)
        self.bert = BertModel(config)


tagger = BertForTagging.from_pretrained("bert-base-multilingual-cased")  # expect: bert-base-multilingual-cased
state = torch.load("checkpoints/tagger.pt", map_location="cpu")
tagger.load_state_dict(state)
''',
}

# --- image generation ----------------------------------------------------------------------------------------------

REPOS["sd-webui-lite"] = {
    "generate.py": '''\
import torch
from diffusers import DiffusionPipeline, StableDiffusionPipeline, DPMSolverMultistepScheduler
from diffusers.models import AutoencoderKL

MODEL = "runwayml/stable-diffusion-v1-5"
PINNED = "39593d5650112b4cc580433f6b0435385882d819"

vae = AutoencoderKL.from_pretrained("stabilityai/sd-vae-ft-mse", torch_dtype=torch.float16)  # expect: stabilityai/sd-vae-ft-mse
pipe = StableDiffusionPipeline.from_pretrained(  # expect: runwayml/stable-diffusion-v1-5
    MODEL, vae=vae, revision=PINNED, use_safetensors=True, torch_dtype=torch.float16
)
pipe.scheduler = DPMSolverMultistepScheduler.from_config(pipe.scheduler.config)
xl = DiffusionPipeline.from_pretrained("stabilityai/stable-diffusion-xl-base-1.0", variant="fp16")  # expect: stabilityai/stable-diffusion-xl-base-1.0
custom = DiffusionPipeline.from_pretrained("./my-finetuned-sd")  # expect: local
single = StableDiffusionPipeline.from_single_file("./models/v1-5-pruned.safetensors")
image = pipe("an astronaut riding a horse").images[0]
image.save("out.png")
''',
}

# --- adapters, alignment, few-shot ---------------------------------------------------------------------------------

REPOS["llm-tuning"] = {
    "sft.py": '''\
import os

from datasets import load_dataset
from peft import AutoPeftModelForCausalLM, LoraConfig, PeftModel, get_peft_model
from setfit import SetFitModel
from transformers import AutoModelForCausalLM, AutoTokenizer
from trl import SFTConfig, SFTTrainer

BASE = os.environ.get("BASE_MODEL", "meta-llama/Llama-2-7b-hf")
ADAPTER = "timdettmers/guanaco-7b"

base = AutoModelForCausalLM.from_pretrained(BASE, load_in_8bit=True)  # expect: meta-llama/Llama-2-7b-hf
tokenizer = AutoTokenizer.from_pretrained(BASE)  # expect: meta-llama/Llama-2-7b-hf
tuned = PeftModel.from_pretrained(base, ADAPTER)  # expect: timdettmers/guanaco-7b
merged = AutoPeftModelForCausalLM.from_pretrained("ybelkada/opt-350m-lora")  # expect: ybelkada/opt-350m-lora
lora = get_peft_model(base, LoraConfig(r=8))
dataset = load_dataset("timdettmers/openassistant-guanaco", split="train")
trainer = SFTTrainer(model="facebook/opt-350m", train_dataset=dataset, args=SFTConfig(output_dir="out"))  # expect: facebook/opt-350m
trainer2 = SFTTrainer(model=lora, train_dataset=dataset)
few_shot = SetFitModel.from_pretrained("sentence-transformers/paraphrase-mpnet-base-v2")  # expect: sentence-transformers/paraphrase-mpnet-base-v2
tuned.save_pretrained("./adapter")
tuned.push_to_hub("me/guanaco-adapter")
''',
    "serve.py": '''\
from huggingface_hub import InferenceClient
from vllm import LLM, SamplingParams
from llama_cpp import Llama

llm = LLM(model="Qwen/Qwen2-7B-Instruct", trust_remote_code=True, revision="v1.0")  # expect: Qwen/Qwen2-7B-Instruct
gguf = Llama.from_pretrained(repo_id="TheBloke/Llama-2-7B-GGUF", filename="*Q4_K_M.gguf")  # expect: TheBloke/Llama-2-7B-GGUF
local_gguf = Llama(model_path="./models/llama-2-7b.Q4_K_M.gguf")
client = InferenceClient(model="HuggingFaceH4/zephyr-7b-beta")  # expect: HuggingFaceH4/zephyr-7b-beta
params = SamplingParams(temperature=0.2)
''',
}

# --- computer vision -----------------------------------------------------------------------------------------------

REPOS["detector"] = {
    "models.py": '''\
import timm
import torch
import torchvision
from torchvision.models import resnet50, ResNet50_Weights
from torchvision.models.detection import fasterrcnn_resnet50_fpn
from ultralytics import YOLO

backbone = timm.create_model("convnext_tiny", pretrained=True, num_classes=10)  # expect: convnext_tiny
scratch = timm.create_model("resnet18", pretrained=False)
hub_vit = timm.create_model("hf_hub:timm/vit_base_patch16_224.augreg_in21k", pretrained=True)  # expect: timm/vit_base_patch16_224.augreg_in21k
classifier = resnet50(weights=ResNet50_Weights.IMAGENET1K_V2)  # expect: pytorch/vision/resnet50
untrained = resnet50()
detector = fasterrcnn_resnet50_fpn(pretrained=True)  # expect: pytorch/vision/fasterrcnn_resnet50_fpn
vgg = torchvision.models.vgg16(weights="DEFAULT")  # expect: pytorch/vision/vgg16
yolo5 = torch.hub.load("ultralytics/yolov5", "yolov5s", pretrained=True)  # expect: ultralytics/yolov5/yolov5s
dino = torch.hub.load("facebookresearch/dinov2:main", "dinov2_vits14")  # expect: facebookresearch/dinov2/dinov2_vits14
local_hub = torch.hub.load("./yolov5", "custom", path="best.pt", source="local")  # expect: local
yolo8 = YOLO("yolov8n.pt")  # expect: yolov8n.pt
trained = YOLO("runs/detect/train/weights/best.pt")  # expect: local
weights = torch.load("checkpoints/epoch_10.pth")
''',
}

# --- speech and audio ----------------------------------------------------------------------------------------------

REPOS["speech"] = {
    "asr.py": '''\
import nemo.collections.asr as nemo_asr
import torchaudio
from pyannote.audio import Pipeline
from speechbrain.inference.speaker import EncoderClassifier

HF_TOKEN = "hf_xxx"

diarization = Pipeline.from_pretrained("pyannote/speaker-diarization-3.1", use_auth_token=HF_TOKEN)  # expect: pyannote/speaker-diarization-3.1
speaker = EncoderClassifier.from_hparams(source="speechbrain/spkrec-ecapa-voxceleb", savedir="pretrained_models/ecapa")  # expect: speechbrain/spkrec-ecapa-voxceleb
citrinet = nemo_asr.models.EncDecCTCModel.from_pretrained(model_name="nvidia/stt_en_citrinet_256")  # expect: nvidia/stt_en_citrinet_256
bundle = torchaudio.pipelines.WAV2VEC2_ASR_BASE_960H  # expect: pytorch/audio/WAV2VEC2_ASR_BASE_960H
model = bundle.get_model()
waveform, rate = torchaudio.load("speech.wav")
''',
}

# --- other NLP libraries and hubs --------------------------------------------------------------------------------------

REPOS["nlp-toolbox"] = {
    "pipelines.py": '''\
import en_core_web_sm
import keras_hub
import open_clip
import spacy
import stanza
import tensorflow_hub as hub
from flair.models import SequenceTagger
from gliner import GLiNER
from huggingface_hub import hf_hub_download, snapshot_download

nlp = spacy.load("en_core_web_trf")  # expect: en_core_web_trf
small = en_core_web_sm.load()  # expect: en_core_web_sm
blank = spacy.blank("en")
custom_nlp = spacy.load("./training/model-best")  # expect: local
stanza.download("en")  # expect: stanfordnlp/stanza-en
stanza_nlp = stanza.Pipeline(lang="de", processors="tokenize,ner")  # expect: stanfordnlp/stanza-de
tagger = SequenceTagger.load("flair/ner-english-fast")  # expect: flair/ner-english-fast
ner = GLiNER.from_pretrained("urchade/gliner_medium-v2.1")  # expect: urchade/gliner_medium-v2.1
weights = hf_hub_download(repo_id="lllyasviel/Annotators", filename="body_pose_model.pth")  # expect: lllyasviel/Annotators
data = hf_hub_download("squad", "train.json", repo_type="dataset")
repo_dir = snapshot_download("openai/clip-vit-base-patch32", revision="3d74acf9a28c67741b2f4f2ea7635f0aaf6f0268")  # expect: openai/clip-vit-base-patch32
embed = hub.KerasLayer("https://tfhub.dev/google/universal-sentence-encoder/4")  # expect: https://tfhub.dev/google/universal-sentence-encoder/4
gemma = keras_hub.models.GemmaCausalLM.from_preset("gemma_2b_en")  # expect: gemma_2b_en
clip, _, preprocess = open_clip.create_model_and_transforms("ViT-B-32", pretrained="laion2b_s34b_b79k")  # expect: ViT-B-32
''',
}

# --- how names are built -----------------------------------------------------------------------------------------------

REPOS["name-building"] = {
    "build.py": '''\
import os
import sys

from transformers import AutoModel, AutoModelForSeq2SeqLM, AutoTokenizer, T5Tokenizer

ORG = "google"
SIZE = "base"
T5 = ORG + "/flan-t5-" + SIZE
MODELS = {"small": "google/flan-t5-small", "large": "google/flan-t5-large"}
CHECKPOINT_DIR = os.path.join(os.path.dirname(__file__), "checkpoints")


def opt(size="1.3b"):
    return AutoModel.from_pretrained("facebook/opt-" + size)  # expect: facebook/opt-1.3b


def load(name):
    return AutoModel.from_pretrained(name)  # expect: bert-base-uncased|distilbert-base-uncased


seq2seq = AutoModelForSeq2SeqLM.from_pretrained(T5)  # expect: google/flan-t5-base
tok = T5Tokenizer.from_pretrained(f"{ORG}/flan-t5-{SIZE}")  # expect: google/flan-t5-base
small = AutoModelForSeq2SeqLM.from_pretrained(MODELS["small"])  # expect: google/flan-t5-small
fmt = AutoTokenizer.from_pretrained("{}/flan-t5-{}".format(ORG, "large"))  # expect: google/flan-t5-large
env = AutoTokenizer.from_pretrained(os.getenv("TOKENIZER", "xlm-roberta-base"))  # expect: xlm-roberta-base
ckpt = AutoModel.from_pretrained(os.path.join(CHECKPOINT_DIR, "best"))  # expect: local
for name in ["bert-base-uncased", "distilbert-base-uncased"]:
    load(name)
for variant in ("albert-base-v2", "albert-large-v2"):
    AutoModel.from_pretrained(variant)  # expect: albert-base-v2|albert-large-v2
large = True
chosen = "roberta-large" if large else "roberta-base"
picked = AutoModel.from_pretrained(chosen)  # expect: roberta-large
cli = AutoModel.from_pretrained(sys.argv[1])  # expect: ?
kwargs = {"pretrained_model_name_or_path": "gpt2"}
splat = AutoModel.from_pretrained(**kwargs)  # expect: gpt2
''',
}

# --- argparse defaults defined in another file -------------------------------------------------------------------------

REPOS["split-args"] = {
    "opts.py": '''\
import argparse


def get_parser():
    parser = argparse.ArgumentParser()
    parser.add_argument("--encoder", type=str, default="microsoft/deberta-v3-small")
    parser.add_argument("--lr", type=float, default=3e-5)
    return parser
''',
    "main.py": '''\
from opts import get_parser
from transformers import AutoModel, AutoTokenizer


def main():
    args = get_parser().parse_args()
    tokenizer = AutoTokenizer.from_pretrained(args.encoder)  # expect: microsoft/deberta-v3-small
    model = AutoModel.from_pretrained(args.encoder)  # expect: microsoft/deberta-v3-small
    return tokenizer, model


main()
''',
}

# --- notebooks -------------------------------------------------------------------------------------------------------------

REPOS["notebooks"] = {
    "demo.ipynb": notebook([
        ("markdown", "# Sentiment demo\n\nWe load a model from the Hub."),
        ("code", "!pip install transformers\n%matplotlib inline\nimport transformers\nfrom transformers import pipeline"),
        ("code", "MODEL_ID = 'distilbert-base-uncased-finetuned-sst-2-english'"),
        ("markdown", "Now the pipeline:"),
        ("code", "clf = pipeline('sentiment-analysis',  # expect: distilbert-base-uncased-finetuned-sst-2-english\n"
                 "               model=MODEL_ID)\n"
                 "clf('I love this')"),
        ("code", "tok = transformers.AutoTokenizer.from_pretrained(MODEL_ID)  # expect: distilbert-base-uncased-finetuned-sst-2-english"),
        ("code", "%%time\nmodel = transformers.AutoModel.from_pretrained('gpt2')  # expect: gpt2"),
        ("code", "%%writefile helper.py\nfrom transformers import AutoModel\nAutoModel.from_pretrained('not-run-here')"),
        ("raw", "model = AutoModel.from_pretrained('not-code')"),
    ]),
}

# --- things that look like model loads and are not -------------------------------------------------------------------------

REPOS["lookalikes"] = {
    "mylib/__init__.py": "",
    "mylib/loader.py": '''\
class Registry:
    @classmethod
    def from_pretrained(cls, name):
        return cls()


def pipeline(task, model=None):
    return (task, model)


def load_model(name):
    return name
''',
    "main.py": '''\
import json
import pickle

import joblib
import torch
from datasets import load_dataset

from mylib.loader import Registry, load_model, pipeline

registry = Registry.from_pretrained("bert-base-uncased")
runner = pipeline("ner", model="dslim/bert-base-NER")
thing = load_model("gpt2")
data = load_dataset("imdb")
cfg = json.load(open("config.json"))
clf = joblib.load("model.joblib")
ckpt = torch.load("model.pt")
blob = pickle.load(open("x.pkl", "rb"))
# model = AutoModel.from_pretrained("bert-base-uncased")
DOC = """
Example:
    model = AutoModel.from_pretrained("roberta-base")
"""
''',
    "local_fn.py": '''\
from transformers import AutoModel


def from_pretrained(path):
    return path


class Wrapper:
    def from_pretrained(self, name):
        return AutoModel.from_pretrained(name)  # expect: bert-base-uncased


w = Wrapper()
m = w.from_pretrained("bert-base-uncased")
n = from_pretrained("roberta-base")
AutoModel.from_config({"model_type": "bert"})
''',
}

# --- code that does not parse ----------------------------------------------------------------------------------------------

REPOS["legacy-py2"] = {
    "old_train.py": '''\
from pytorch_pretrained_bert import BertModel
from transformers import BertTokenizer, BertForSequenceClassification

print "loading"
tokenizer = BertTokenizer.from_pretrained('bert-base-uncased')  # expect: bert-base-uncased
model = BertForSequenceClassification.from_pretrained("bert-large-cased", num_labels=3)  # expect: bert-large-cased
print model
''',
    "broken.py": '''\
from transformers import AutoModel

def f(:
    return AutoModel.from_pretrained("t5-small")  # expect: t5-small
''',
}


def write(root: Path, files: Files) -> None:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")


Site = tuple[str, int | None, int]  # (path, cell, line)


def labels(files: Files) -> dict[Site, list[str]]:
    """The labelled call sites of a repository: site -> expected ids ("?" / "local" for no hub id)."""
    out: dict[Site, list[str]] = {}
    for rel, content in files.items():
        if isinstance(content, bytes):
            continue
        if rel.endswith(".ipynb"):
            for index, cell in enumerate(json.loads(content)["cells"]):
                if cell["cell_type"] != "code":
                    continue
                for number, line in enumerate("".join(cell["source"]).split("\n"), start=1):
                    if (m := _LABEL.search(line)):
                        out[(rel, index, number)] = [x.strip() for x in m.group(1).split("|")]
        elif rel.endswith(".py"):
            for number, line in enumerate(content.split("\n"), start=1):
                if (m := _LABEL.search(line)):
                    out[(rel, None, number)] = [x.strip() for x in m.group(1).split("|")]
    return out
