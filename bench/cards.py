"""Cards per second of the deterministic card extractor, in one process and in the process pool.

Reads every real card in ``../shared/fixtures/model_cards`` and ``model_cards_edge`` (or, where the
shared fixtures are absent, generated cards shaped like the common kinds: Trainer, template,
RL agent, prose), repeats them to ``--cards`` (default 20,000), and extracts all of them:
- single: ``extract_card`` in this process;
- pool: ``extract_batch`` on a ``LocalExecutor`` (``--workers``, default one per CPU), in batches of
  ``--batch`` cards, results (``Extraction`` objects) returned to this process as ``cards extract --all``
  would receive them. Pool start-up is included.
Prints cards/s (wall clock) for each, the pool's speed-up, and cards per CPU-second (this process's CPU
time; the workers' from ``RUSAGE_CHILDREN``), which a machine shared with other jobs does not distort:
on an otherwise idle machine the pool's wall-clock rate approaches workers x that. Target (issue 6):
>= 500 cards/s.

    python bench/cards.py [--cards 20000] [--workers N] [--batch 200]
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import time
from pathlib import Path

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures"


def real_cards() -> list[tuple[str, str | None, list[str] | None]]:
    cards: list[tuple[str, str | None, list[str] | None]] = []
    for folder in ("model_cards", "model_cards_edge"):
        for path in sorted((SHARED / folder).glob("*.md")):
            if path.name != "PROVENANCE.md":
                text = path.read_bytes().decode("utf-8", errors="replace")
                cards.append((text, path.stem.replace("__", "/", 1), None))
    return cards


TRAINER = """---
license: apache-2.0
tags:
- generated_from_trainer
datasets:
- imdb
model-index:
- name: model-{i}
  results: []
---

# model-{i}

This model is a fine-tuned version of [bert-base-uncased](https://huggingface.co/bert-base-uncased) on the imdb dataset.
It achieves the following results on the evaluation set:
- Loss: {a:.4f}
- Accuracy: {b:.4f}

## Intended uses & limitations

More information needed

### Training hyperparameters

The following hyperparameters were used during training:
- learning_rate: 2e-05
- train_batch_size: {batch}
- seed: 42
- num_epochs: 3

### Training results

| Training Loss | Epoch | Step | Validation Loss |
|:---:|:---:|:---:|:---:|
| {a:.4f} | 1.0 | 500 | {b:.4f} |
| {b:.4f} | 2.0 | 1000 | {a:.4f} |

### Framework versions

- Transformers 4.30.0
- Pytorch 2.0.1
"""
RL = """---
library_name: stable-baselines3
tags:
- LunarLander-v2
model-index:
- name: PPO
  results:
  - task:
      type: reinforcement-learning
    dataset:
      name: LunarLander-v2
      type: LunarLander-v2
    metrics:
    - type: mean_reward
      value: {a:.2f} +/- 20.1
---

# **PPO** Agent playing **LunarLander-v2**
using the [stable-baselines3 library](https://github.com/DLR-RM/stable-baselines3).

## Hyperparameters
```python
OrderedDict([('gamma', 0.99), ('n_steps', {batch})])
```
"""
TEMPLATE = """---
license: mit
language: en
base_model: meta-llama/Llama-2-7b-hf
---
# Model Card for {model}

## Model Details

- **Developed by:** [More Information Needed]
- **Finetuned from model [optional]:** meta-llama/Llama-2-7b-hf

## Bias, Risks, and Limitations

The model may produce biased or offensive text.

## Environmental Impact

- **Hardware Type:** 8 x A100 80GB
- **Carbon Emitted:** {a:.1f} kg CO2eq

## Citation

arXiv:2307.09288
"""
PROSE = """# {model}

A {size}M parameter model pre-trained on the [C4 corpus](https://www.tensorflow.org/datasets/catalog/c4).
Code: https://github.com/org/repo.

```python
from transformers import AutoModel
model = AutoModel.from_pretrained("{model}")
```

## Results

| Model | SST-2 | MNLI |
|---|---|---|
| baseline | 90.1 | 80.2 |
| model-{i} | {a:.1f} | {b:.1f} |
"""


def generated_cards(n: int = 200, seed: int = 0) -> list[tuple[str, str | None, list[str] | None]]:
    """Cards of the four common kinds with varied values, for checkouts without ../shared."""
    rng = random.Random(seed)
    cards: list[tuple[str, str | None, list[str] | None]] = []
    for i in range(n):
        model = f"org{i % 17}/model-{i}"
        template = (TRAINER, RL, TEMPLATE, PROSE)[i % 4]
        text = template.format(i=i, model=model, a=rng.uniform(0, 300), b=rng.random(), batch=rng.choice([8, 16, 32]),
                               size=rng.choice([110, 340]))
        cards.append((text, model, None))
    return cards


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cards", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--batch", type=int, default=200)
    args = parser.parse_args()

    from ptmscope.cards.extract import extract_batch, extract_card
    from ptmscope.runtime.executors import LocalExecutor

    base = real_cards() if (SHARED / "model_cards").is_dir() else generated_cards()
    source = "real fixture cards" if (SHARED / "model_cards").is_dir() else "generated cards"
    cards = (base * (args.cards // len(base) + 1))[:args.cards]
    size = sum(len(text) for text, _, _ in cards) / len(cards)
    print(f"{len(cards)} cards ({len(base)} distinct {source}, mean {size / 1024:.1f} KiB)")

    start, cpu = time.perf_counter(), time.process_time()
    fields = sum(len(extract_card(text, model_id=model, api_tags=tags).fields) for text, model, tags in cards)
    single = time.perf_counter() - start
    single_cpu = time.process_time() - cpu
    print(f"single process: {len(cards) / single:8.0f} cards/s  ({single:.1f} s, "
          f"{fields / len(cards):.1f} fields/card)")

    batches = [cards[i:i + args.batch] for i in range(0, len(cards), args.batch)]
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    with LocalExecutor(args.workers) as executor:
        done = sum(len(result) for result in executor.map(extract_batch, batches))
    pooled = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)  # workers are joined by the executor's close
    pool_cpu = (after.ru_utime + after.ru_stime) - (children.ru_utime + children.ru_stime)
    assert done == len(cards)
    print(f"pool ({args.workers} workers): {len(cards) / pooled:8.0f} cards/s  ({pooled:.1f} s incl. start-up)")
    print(f"pool / single: {single / pooled:.2f}x   target >= 500 cards/s: "
          f"{'met' if len(cards) / min(single, pooled) >= 500 else 'NOT met'}")
    print(f"cards per CPU-second: single {len(cards) / single_cpu:.0f}, pool workers "
          f"{len(cards) / pool_cpu if pool_cpu else float('nan'):.0f} (x{args.workers} workers on an idle machine)")
    print(f"load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
