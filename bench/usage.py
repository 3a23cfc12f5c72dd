"""Files per second of the usage analyzer (issue 5): ``analyze_path`` over a generated corpus of Python files,
in one process and with the local process pool. Target: ≥ 1,000 files/s with the pool on this machine.

The corpus imitates downstream repositories: a third of the files load models (transformers, diffusers,
sentence-transformers, timm, torch.hub, spaCy) through constants, argparse defaults, config dicts and
f-strings, with save/push noise; a third are PyTorch code that imports torch but loads nothing from a hub
(they must be parsed: torch.hub is a signature); the rest are plain utility modules. A few notebooks and
files that do not parse are mixed in. Each run is timed ``--repeat`` times and the fastest counts.

    python bench/usage.py [--files 20000] [--workers 2] [--repeat 2]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import tempfile
import time
from pathlib import Path

from ptmscope.runtime.executors import LocalExecutor
from ptmscope.usage.analyzer import analyze_path

MODELS = ["bert-base-uncased", "google/flan-t5-base", "openai/clip-vit-base-patch32", "gpt2", "roberta-large",
          "sentence-transformers/all-MiniLM-L6-v2", "runwayml/stable-diffusion-v1-5", "facebook/opt-350m",
          "microsoft/deberta-v3-base", "meta-llama/Llama-2-7b-hf"]

LOADER = '''\
import argparse
import os

import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer, pipeline
{extra_import}

MODEL_NAME = "{model}"
CONFIG = {{"model": "{model2}", "lr": 3e-5, "epochs": {epochs}}}
ORG = "{org}"


def parse_args():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model_name_or_path", default=MODEL_NAME)
    parser.add_argument("--output_dir", default="./outputs/run{n}")
    parser.add_argument("--batch_size", type=int, default={batch})
    return parser.parse_args()


class Trainer{n}:
    BACKBONE = "{model}"

    def __init__(self, name=None, lr=1e-4):
        self.name = name or self.BACKBONE
        self.lr = lr

    def build(self):
        tokenizer = AutoTokenizer.from_pretrained(self.name)
        model = AutoModelForSequenceClassification.from_pretrained(self.name, num_labels={labels})
        return tokenizer, model

    def step(self, batch):
        loss = sum(x * self.lr for x in batch)
        return loss / max(len(batch), 1)


def main():
    args = parse_args()
    trainer = Trainer{n}(args.model_name_or_path)
    tokenizer, model = trainer.build()
    clf = pipeline("text-classification", model=f"{{ORG}}/classifier-{n}")
    other = AutoModelForSequenceClassification.from_pretrained(CONFIG["model"], revision="{rev}")
    {extra_call}
    for epoch in range(CONFIG["epochs"]):
        print(epoch, trainer.step([1.0, 2.0, 3.0]))
    model.save_pretrained(args.output_dir)
    tokenizer.save_pretrained(args.output_dir)
    if os.environ.get("PUSH"):
        model.push_to_hub("me/model-{n}")
    return clf, other


if __name__ == "__main__":
    main()
'''

EXTRAS = [
    ("from diffusers import StableDiffusionPipeline", 'pipe = StableDiffusionPipeline.from_pretrained("{m}")'),
    ("from sentence_transformers import SentenceTransformer", 'enc = SentenceTransformer("{m}")'),
    ("import timm", 'net = timm.create_model("resnet50", pretrained=True)'),
    ("import spacy", 'nlp = spacy.load("en_core_web_sm")'),
    ("", 'hub = torch.hub.load("pytorch/vision:v0.10.0", "resnet18", pretrained=True)'),
]

TORCH = '''\
import math

import torch
from torch import nn
import torch.nn.functional as F


class Block{n}(nn.Module):
    def __init__(self, dim={dim}, heads={heads}, dropout=0.1):
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.attn = nn.MultiheadAttention(dim, heads, dropout=dropout, batch_first=True)
        self.mlp = nn.Sequential(nn.Linear(dim, dim * 4), nn.GELU(), nn.Linear(dim * 4, dim))

    def forward(self, x, mask=None):
        h = self.norm(x)
        h, _ = self.attn(h, h, h, key_padding_mask=mask)
        x = x + h
        return x + self.mlp(self.norm(x))


def cosine_schedule(step, total={total}, warmup={warmup}):
    if step < warmup:
        return step / max(1, warmup)
    progress = (step - warmup) / max(1, total - warmup)
    return 0.5 * (1.0 + math.cos(math.pi * progress))


def train_step(model, batch, optimizer):
    logits = model(batch["x"])
    loss = F.cross_entropy(logits.view(-1, logits.size(-1)), batch["y"].view(-1))
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    state = torch.load("checkpoints/step_{n}.pt") if {n} % 2 else None
    return loss.item(), state
'''

UTIL = '''\
"""Helpers {n}."""
import json
import logging
import os
from collections import defaultdict
from dataclasses import dataclass, field

log = logging.getLogger(__name__)


@dataclass
class Record{n}:
    name: str
    values: list = field(default_factory=list)
    meta: dict = field(default_factory=dict)

    def total(self):
        return sum(self.values)


def load_records(path):
    with open(path) as fh:
        return [Record{n}(**row) for row in json.load(fh)]


def group(records, key="name"):
    out = defaultdict(list)
    for record in records:
        out[getattr(record, key)].append(record)
    return dict(out)


def save(records, path=os.path.join("out", "records_{n}.json")):
    with open(path, "w") as fh:
        json.dump([r.__dict__ for r in records], fh)
    log.info("saved %d records", len(records))
'''

BROKEN = 'from transformers import AutoModel\nprint "legacy {n}"\nm = AutoModel.from_pretrained("{m}")\n'


def generate(root: Path, files: int, seed: int = 5) -> None:
    rng = random.Random(seed)
    for n in range(files):
        repo = root / f"repo{n % 200:03d}"
        kind = rng.random()
        if n % 500 == 0:
            cells = [{"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
                      "source": ["from transformers import AutoModel\n",
                                 f"m = AutoModel.from_pretrained('{MODELS[n % 10]}')"]},
                     {"cell_type": "markdown", "metadata": {}, "source": ["# notes"]}]
            path, text = repo / f"nb{n}.ipynb", json.dumps({"cells": cells, "metadata": {}, "nbformat": 4,
                                                            "nbformat_minor": 5})
        elif n % 397 == 0:
            path, text = repo / f"legacy{n}.py", BROKEN.format(n=n, m=rng.choice(MODELS))
        elif kind < 0.34:
            extra_import, extra_call = rng.choice(EXTRAS)
            path = repo / f"train_{n}.py"
            text = LOADER.format(model=rng.choice(MODELS), model2=rng.choice(MODELS), org=f"org{n % 37}", n=n,
                                 epochs=rng.randint(1, 9), batch=rng.choice((8, 16, 32)), labels=rng.randint(2, 9),
                                 rev=rng.choice(("main", "v1.0", "a" * 40)), extra_import=extra_import,
                                 extra_call=extra_call.format(m=rng.choice(MODELS)))
        elif kind < 0.67:
            path = repo / f"model_{n}.py"
            text = TORCH.format(n=n, dim=rng.choice((256, 512, 768)), heads=rng.choice((4, 8, 12)),
                                total=rng.randint(1000, 9000), warmup=rng.randint(10, 500))
        else:
            path, text = repo / f"util_{n}.py", UTIL.format(n=n)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def _cpu() -> float:
    """CPU seconds of this process and of its reaped children (the pool's workers, once shut down)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def timed(root: Path, workers: int, repeat: int) -> tuple[float, float, int, int]:
    """Fastest wall time, its CPU seconds, files and usages."""
    best, best_cpu = float("inf"), 0.0
    usages = files = 0
    for _ in range(repeat):
        cpu = _cpu()
        # The pool's start-up and shut-down are part of what a user waits for.
        start = time.perf_counter()
        if workers > 1:
            with LocalExecutor(workers) as executor:
                report = analyze_path(root, executor)
        else:
            report = analyze_path(root)
        elapsed = time.perf_counter() - start
        if elapsed < best:
            best, best_cpu = elapsed, _cpu() - cpu
        usages, files = len(report.usages), report.files
    return best, best_cpu, files, usages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ptmscope-usage-bench-") as tmp:
        root = Path(tmp)
        generate(root, args.files)
        serial, serial_cpu, files, usages = timed(root, 1, args.repeat)
        print(f"corpus: {files} files, {usages} usages found; {os.cpu_count()} CPUs, "
              f"load average {os.getloadavg()[0]:.1f} (other work on the machine slows the wall times)")
        print(f"single process: {serial:.2f} s, {files / serial:,.0f} files/s "
              f"({serial_cpu:.2f} CPU s, {files / serial_cpu:,.0f} files per CPU second)")
        pooled, pooled_cpu, _, pooled_usages = timed(root, args.workers, args.repeat)
        assert pooled_usages == usages
        print(f"process pool ({args.workers} workers): {pooled:.2f} s, {files / pooled:,.0f} files/s "
              f"({pooled_cpu:.2f} CPU s)")
        print(f"pool / single speed-up: {serial / pooled:.2f}x (target: >= 1,000 files/s with the pool)")


if __name__ == "__main__":
    main()
