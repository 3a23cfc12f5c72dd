"""The offline demo: two months of an incremental crawl on a Hub ptmscope generates and serves itself.

Month 1 lists every model (cards, commit history, file sizes), reads the PyTorch Hub catalogue
bundled here, then the emulated Hub moves on a month (models updated, added, deleted, renamed);
month 2 is an incremental run and a full run that notices deletions and renames. The store is
then exported and summarised. Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path

import orjson

from ..analysis.coverage import coverage
from ..config import HttpSettings, Settings
from ..hubs.collect import CollectSummary, HfOptions, collect_huggingface, collect_records
from ..hubs.huggingface import HuggingFaceHub
from ..hubs.pytorch_hub import HUB as PYTORCH_HUB
from ..hubs.pytorch_hub import iter_catalogue
from ..replay import HubCorpus, HuggingFaceApp, ReplayServer
from ..replay.corpus import synthetic_hub
from ..replay.synth import generate_card, generate_model, record_rng
from ..store import Store, open_store
from ..store.export import MODEL_FIELDS, iter_models, write_csv, write_jsonl, write_parquet

DEMO_MODELS = 3000
DEMO_SEED = 2026
Say = Callable[[str], None]
Advance = Callable[[int], None]


@dataclass
class DemoResult:
    out: Path
    db_url: str
    runs: list[CollectSummary] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    coverage_total: int = 0


def _hub_timestamp(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _advance_a_month(corpus: HubCorpus, rng: random.Random) -> dict[str, int]:
    """What a month on the Hub looks like: edits, new uploads, deletions and renames."""
    models = corpus.models
    ids = sorted(models)
    newest = max(datetime.fromisoformat(r["lastModified"]) for r in models.values()
                 if isinstance(r.get("lastModified"), str))
    month = newest + timedelta(days=30)
    for model_id in rng.sample(ids, 40):
        record = models[model_id]
        downloads = record["downloads"] if isinstance(record.get("downloads"), int) else 0
        corpus.update_model(model_id, {
            "lastModified": _hub_timestamp(month - timedelta(minutes=rng.randrange(40_000))),
            "sha": f"{rng.getrandbits(160):040x}", "downloads": downloads + rng.randrange(1, 5000)})
    for index in range(DEMO_MODELS, DEMO_MODELS + 25):
        record = generate_model(index, record_rng(DEMO_SEED, index))
        record["createdAt"] = record["lastModified"] = _hub_timestamp(month - timedelta(hours=index % 500))
        corpus.put_model(record)
        corpus.set_card(str(record["id"]), generate_card(record, record_rng(DEMO_SEED ^ 0x5EED, index)))
    untouched = [m for m in ids if m in corpus and corpus.models[m].get("lastModified") != _hub_timestamp(month)]
    for model_id in rng.sample(untouched, 10):
        corpus.remove_model(model_id)
    renamed = 0
    for model_id in rng.sample([m for m in ids if m in corpus and "/" in m], 3):
        corpus.rename_model(model_id, f"{model_id.split('/')[0]}-org/{model_id.split('/')[1]}")
        renamed += 1
    return {"updated": 40, "added": 25, "deleted": 10, "renamed": renamed}


def run_demo(out: Path, say: Say, progress: Callable[[str, int | None], Advance]) -> DemoResult:
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob("ptmscope.db*"):
        stale.unlink()
    db_url = f"sqlite:///{(out / 'ptmscope.db').as_posix()}"
    result = DemoResult(out=out, db_url=db_url)
    store = open_store(db_url)

    say(f"Generating a Hub of {DEMO_MODELS:,} models (seed {DEMO_SEED}) and serving it on 127.0.0.1")
    corpus = synthetic_hub(DEMO_MODELS, DEMO_SEED, commits=True)
    with ReplayServer(HuggingFaceApp(corpus)) as server:
        settings = Settings(hf_endpoint=server.url, db_url=db_url,
                            http=HttpSettings(timeout=30, max_retries=4, backoff_base=0.05))
        hub = HuggingFaceHub(settings)
        try:
            say(f"Month 1: full listing with cards, commit histories and file sizes from {server.url}")
            result.runs.append(collect_huggingface(store, hub, HfOptions(cards=True, history=True, files=True),
                                                   progress=progress("month 1: Hugging Face", DEMO_MODELS)))
            say(f"  {result.runs[-1].line()}")
            _pytorch_hub(store, result, say)

            changes = _advance_a_month(corpus, random.Random(DEMO_SEED))
            say("The Hub moves on a month: " + ", ".join(f"{v} {k}" for k, v in changes.items()))
            say("Month 2: incremental run (only what changed since the checkpoint)")
            result.runs.append(collect_huggingface(store, hub, HfOptions(cards=True, history=True, files=True),
                                                   progress=progress("month 2: incremental", None)))
            say(f"  {result.runs[-1].line()}")
            say("Month 2: full re-listing (download counts refreshed; deletions and renames noticed)")
            result.runs.append(collect_huggingface(store, hub, HfOptions(cards=True, full=True),
                                                   progress=progress("month 2: full", len(corpus))))
            say(f"  {result.runs[-1].line()}")
        finally:
            hub.close()
    _exports(store, result, say)
    return result


def _pytorch_hub(store: Store, result: DemoResult, say: Say) -> None:
    catalogue_dir = Path(str(resources.files("ptmscope.demo").joinpath("pytorch_hub")))
    catalogue = iter_catalogue(catalogue_dir)
    summary = collect_records(store, PYTORCH_HUB, PYTORCH_HUB, catalogue, mark_missing_deleted=True,
                              params={"source": "bundled demo catalogue"}, skipped=catalogue.skipped)
    result.runs.append(summary)
    say(f"PyTorch Hub (bundled catalogue): {summary.line()}")


def _exports(store: Store, result: DemoResult, say: Say) -> None:
    out = result.out
    with (out / "models.jsonl").open("wb") as fh:
        n = write_jsonl(iter_models(store), fh)
    with (out / "models.csv").open("wb") as fh:
        write_csv(iter_models(store), fh, [name for name, _ in MODEL_FIELDS])
    write_parquet(iter_models(store), out / "models.parquet", MODEL_FIELDS)
    total, rows = coverage(store)
    result.coverage_total = total
    (out / "coverage.json").write_bytes(orjson.dumps(
        {"hub": "huggingface", "models": total, "rows": [r.__dict__ for r in rows]}, option=orjson.OPT_INDENT_2))
    result.files = [out / name for name in ("ptmscope.db", "models.jsonl", "models.csv", "models.parquet",
                                            "coverage.json")]
    say(f"Exported {n:,} models (jsonl, csv, parquet) and metadata coverage of {total:,} live Hub models")
    for r in rows:
        say(f"  {r.metadata:<16} {r.models:>6,}  {r.percent:5.1f}%")
