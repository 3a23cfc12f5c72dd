"""The offline demo: two months of an incremental crawl on a Hub ptmscope generates and serves itself.

Month 1 lists every model (cards, commit history, file sizes), reads the PyTorch Hub catalogue
bundled here, then the emulated Hub moves on a month (models updated, added, deleted, renamed);
month 2 is an incremental run and a full run that notices deletions and renames. The store is
then exported and summarised. Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path

import orjson
from sqlalchemy import func, select

from ..analysis.coverage import coverage
from ..cards.run import extract_all
from ..config import HttpSettings, Settings
from ..github.api import GitHubClient
from ..github.cloning import clone_all
from ..github.collect import collect_github
from ..hubs.collect import CollectSummary, HfOptions, collect_huggingface, collect_records
from ..hubs.huggingface import HuggingFaceHub
from ..hubs.pytorch_hub import HUB as PYTORCH_HUB
from ..hubs.pytorch_hub import iter_catalogue
from ..hubs.snapshot import snapshot_models
from ..licenses.run import check_all
from ..link.run import link_all
from ..papers.collect import collect_papers
from ..papers.listfile import ListFileSource
from ..replay import HubCorpus, HuggingFaceApp, ReplayServer
from ..replay.corpus import synthetic_hub
from ..replay.github import GitHubApp, GitHubCorpus, synthetic_repo
from ..replay.synth import generate_card, generate_model, record_rng
from ..report.build import build_report
from ..runtime.executors import LocalExecutor
from ..scan.run import SCANNERS, make_scanners, scan_all
from ..store import Store, open_store, schema
from ..store.export import EXPORTS, MODEL_FIELDS, iter_models, write_csv, write_jsonl, write_parquet
from ..usage.run import usage_all
from .corpus import LEGACY_ID, LEGACY_NEW_ID, add_flagships, load_projects, write_project
from .licenses import license_text

DEMO_MODELS = 3000
DEMO_SEED = 2026
HF_ORG = "huggingface"
HF_ORG_REPOS = ("transformers-demo", "datasets-demo", "diffusers-demo", "peft-demo", "hub-docs-demo",
                "tokenizers-demo")
Say = Callable[[str], None]
Advance = Callable[[int], None]


@dataclass
class DemoResult:
    out: Path
    db_url: str
    runs: list[CollectSummary] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    coverage_total: int = 0
    perspectives: dict[str, int] = field(default_factory=dict)
    report: Path | None = None
    key_numbers: dict[str, object] = field(default_factory=dict)


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
    corpus.rename_model(LEGACY_ID, LEGACY_NEW_ID)  # the Hub's 2024 namespacing of legacy ids
    renamed = 1
    for model_id in rng.sample([m for m in ids if m in corpus and "/" in m], 3):
        corpus.rename_model(model_id, f"{model_id.split('/')[0]}-org/{model_id.split('/')[1]}")
        renamed += 1
    return {"updated": 40, "added": 25, "deleted": 10, "renamed": renamed}


def run_demo(out: Path, say: Say, progress: Callable[[str, int | None], Advance]) -> DemoResult:
    # Absolute: clone URLs (file://) and the store URL are built from it.
    out = out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    # A rerun starts over: the demo's own store, local git remotes and clones from a previous run go.
    for stale in out.glob("ptmscope.db*"):
        stale.unlink()
    for generated in (out / "remotes", out / "repos", out / "snapshots", out / "report"):
        shutil.rmtree(generated, ignore_errors=True)
    db_url = f"sqlite:///{(out / 'ptmscope.db').as_posix()}"
    result = DemoResult(out=out, db_url=db_url)
    store = open_store(db_url)

    say(f"Generating a Hub of {DEMO_MODELS:,} models (seed {DEMO_SEED}) and serving it on 127.0.0.1")
    corpus = synthetic_hub(DEMO_MODELS, DEMO_SEED, commits=True)
    add_flagships(corpus, random.Random(DEMO_SEED))
    fast = HttpSettings(timeout=30, max_retries=4, backoff_base=0.05)
    with ReplayServer(HuggingFaceApp(corpus)) as server:
        settings = Settings(hf_endpoint=server.url, db_url=db_url, data_dir=out, http=fast)
        hub = HuggingFaceHub(settings)
        try:
            say(f"Month 1: full listing with cards, commit histories and file sizes from {server.url}")
            result.runs.append(collect_huggingface(store, hub, HfOptions(cards=True, history=True, files=True),
                                                   progress=progress("month 1: Hugging Face", DEMO_MODELS)))
            say(f"  {result.runs[-1].line()}")
            _pytorch_hub(store, result, say)
            _papers(store, say)
            say(f"Linking: {link_all(store).line()}")
            github, remotes = _github_world(store, out)
            with ReplayServer(GitHubApp(github)) as gh_server:
                gh_settings = Settings(github_api=gh_server.url, git_base=remotes.as_uri(), data_dir=out,
                                       db_url=db_url, http=fast, hf_endpoint=server.url)
                _github_month(store, gh_settings, say, progress, first=True)
                _downstream(store, gh_settings, say, progress, "month 1")

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
                say(f"Linking again: {link_all(store).line()}")
                _commit(remotes / HF_ORG / HF_ORG_REPOS[0], "fix: pin model revisions", {"train.py": _TRAIN_V2})
                _github_month(store, gh_settings, say, progress, first=False)
                _downstream(store, gh_settings, say, progress, "month 2")
        finally:
            hub.close()
    result.perspectives = _perspectives(store)
    say("Repositories per perspective: " + ", ".join(f"{k} {v}" for k, v in result.perspectives.items()))
    _exports(store, result, say)
    report, files = build_report(store, out / "report")
    result.report = out / "report" / "report.html"
    result.key_numbers = report.key_numbers
    result.files.append(result.report)
    say(f"Report: {len(files)} files in {out / 'report'}")
    return result


def _downstream(store: Store, settings: Settings, say: Say, progress: Callable[[str, int | None], Advance],
                label: str) -> None:
    """The stages that read the clones and cards: which code loads which model, card metadata and
    base-model edges, the files of every model some code loads (scanned, never loaded), and license
    verdicts for each model->application pair. Month 2 redoes only what month 1 did not see."""
    with LocalExecutor(2) as executor:
        say(f"{label.capitalize()}: downstream usage, model cards, snapshots and licenses")
        say(f"  {usage_all(store, settings, executor, progress(f'{label}: usage', None)).line()}")
        say(f"  {extract_all(store, settings, executor=executor, advance=progress(f'{label}: cards', None)).line()}")
        snapshots = snapshot_models(store, settings, min_downloads=0, used=True, executor=executor,
                                    advance=progress(f"{label}: snapshots", None))
        say(f"  {snapshots.line()}")
        say(f"  {check_all(store, settings, progress(f'{label}: licenses', None), executor=executor).line()}")


def _papers(store: Store, say: Say) -> None:
    papers_file = Path(str(resources.files("ptmscope.demo").joinpath("papers.json")))
    summary = collect_papers(store, ListFileSource(papers_file), None, None)
    say(f"Papers (bundled list): {summary.line()}")


def _github_world(store: Store, out: Path) -> tuple[GitHubCorpus, Path]:
    """A GitHub for the demo: a record for every repository the link stage found (a few deleted,
    one renamed since it was linked), an organisation with forks, and some repositories a search
    finds; plus real local git repositories for the organisation and the repositories linked from
    the PyTorch Hub pages and papers, to clone."""
    rng = random.Random(DEMO_SEED)
    with store.engine.connect() as conn:
        linked = sorted(f"{r.owner}/{r.name}" for r in conn.execute(
            select(schema.repository.c.owner, schema.repository.c.name)))
        hub_and_papers = sorted({f"{r.owner}/{r.name}" for r in conn.execute(
            select(schema.repository.c.owner, schema.repository.c.name).join(
                schema.repo_source, schema.repo_source.c.repository == schema.repository.c.id).where(
                schema.repo_source.c.perspective.in_(("hub_catalogue", "paper"))))})
    corpus = GitHubCorpus()
    projects = {p.name: p for p in load_projects()}
    gone = set(rng.sample([n for n in linked if n not in hub_and_papers], 5))
    for index, full_name in enumerate(linked):
        if full_name not in gone and full_name not in projects:
            corpus.put_repo(_repo_record(full_name, 600_000_000 + index, rng))
    renamed = next(n for n in linked if n not in gone and n not in hub_and_papers)
    corpus.rename_repo(renamed, f"{renamed.split('/')[0]}/{renamed.split('/')[1]}-renamed")
    org_repos = [f"{HF_ORG}/{name}" for name in HF_ORG_REPOS]
    for index, full_name in enumerate(org_repos):
        parent = _repo_record(full_name, 700_000_000 + index, rng, organization=True,
                              description=f"{full_name.split('/')[1]}: Hugging Face library examples")
        n_forks = rng.randrange(1, 6)
        parent.update(forks_count=n_forks, forks=n_forks)
        corpus.put_repo(parent)
        for fork in range(n_forks):
            child = _repo_record(f"fan{fork:02d}-{index}/{parent['name']}", 710_000_000 + index * 10 + fork, rng,
                                 parent=parent)
            corpus.put_repo(child)
    for index in range(40):
        corpus.put_repo(_repo_record(f"searcher{index % 13:02d}/huggingface-tool-{index}", 720_000_000 + index, rng,
                                     description=f"A huggingface helper, number {index}"))
    remotes = out / "remotes"
    for index, project in enumerate(projects.values()):
        spdx = project.license
        record = _repo_record(project.name, 730_000_000 + index * 10, rng, description=project.description)
        record["license"] = {"key": spdx.lower(), "spdx_id": spdx, "name": spdx}
        record.update(forks_count=len(project.forks), forks=len(project.forks))
        corpus.put_repo(record)
        for number, fork_name in enumerate(project.forks, start=1):
            corpus.put_repo(_repo_record(fork_name, 730_000_000 + index * 10 + number, rng, parent=record))
        write_project(remotes, project, license_text)
    for full_name in [*org_repos, *hub_and_papers]:
        if full_name not in projects:
            _git_repo(remotes / full_name, full_name)
    return corpus, remotes


def _repo_record(full_name: str, repo_id: int, rng: random.Random, *, organization: bool = False,
                 parent: dict[str, object] | None = None, description: str | None = None) -> dict[str, object]:
    created = datetime(2017, 1, 1) + timedelta(days=rng.randrange(2900))
    stars = int(rng.paretovariate(1.1)) - 1
    licenses = [None, {"key": "mit", "name": "MIT License", "spdx_id": "MIT"},
                {"key": "apache-2.0", "name": "Apache License 2.0", "spdx_id": "Apache-2.0"}]
    return synthetic_repo(
        full_name, repo_id, created.astimezone(), parent=parent, organization=organization,
        description=description or f"{full_name.split('/')[1]}: training and inference code",
        stargazers_count=stars, watchers_count=stars, forks_count=stars // 4, license=rng.choice(licenses),
        language=rng.choice(["Python", "Python", "Jupyter Notebook", "C++", None]),
        topics=sorted(rng.sample(["pytorch", "nlp", "vision", "huggingface", "speech"], rng.randrange(3))))


_TRAIN_V1 = 'from transformers import AutoModel\nmodel = AutoModel.from_pretrained("bert-base-uncased")\n'
_TRAIN_V2 = ('from transformers import AutoModel\n'
             'model = AutoModel.from_pretrained("google-bert/bert-base-uncased", revision="86b5e09")\n')


def _git(repo: Path, *args: str) -> None:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(repo), "GIT_CONFIG_NOSYSTEM": "1",
           "GIT_AUTHOR_NAME": "demo", "GIT_AUTHOR_EMAIL": "demo@example.invalid", "GIT_COMMITTER_NAME": "demo",
           "GIT_COMMITTER_EMAIL": "demo@example.invalid"}
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, env=env)


def _git_repo(path: Path, full_name: str) -> None:
    path.mkdir(parents=True, exist_ok=True)
    _git(path, "init", "-q", "-b", "main")
    _commit(path, "initial commit", {"README.md": f"# {full_name}\n", "train.py": _TRAIN_V1})


def _commit(path: Path, message: str, files: dict[str, str]) -> None:
    for name, text in files.items():
        (path / name).write_text(text, encoding="utf-8")
    _git(path, "add", "-A")
    _git(path, "commit", "-q", "-m", message)


def _github_month(store: Store, settings: Settings, say: Say, progress: Callable[[str, int | None], Advance],
                  *, first: bool) -> None:
    with GitHubClient(settings, computing_delay=0) as client:
        label = "month 1" if first else "month 2"
        say(f"{label.capitalize()}: GitHub metadata for linked repositories"
            + (" (conditional requests: unchanged ones cost nothing)" if not first else ""))
        say(f"  {collect_github(store, client, from_links=True, refresh=not first).line()}")
        if first:
            say(f"  org {HF_ORG} and its forks: "
                f"{collect_github(store, client, org=HF_ORG, forks=True, recursive_forks=True).line()}")
            say(f"  search 'huggingface': {collect_github(store, client, search='huggingface').line()}")
    names = _clonable(settings)
    summary = clone_all(store, settings, names=names, workers=4,
                        progress=progress(f"{label}: cloning", len(names)))
    say(f"  cloning {len(names)} repositories: {summary.line()}")
    scanners = make_scanners(list(SCANNERS))
    say(f"  scanning the clones (each unique file content once): {scan_all(store, settings, scanners).line()}")


def _clonable(settings: Settings) -> Sequence[tuple[str, str]]:
    remotes = Path(settings.git_base.removeprefix("file://"))
    return sorted((owner.name, repo.name) for owner in remotes.iterdir() for repo in owner.iterdir())


def _perspectives(store: Store) -> dict[str, int]:
    rs = schema.repo_source
    with store.engine.connect() as conn:
        return {row.perspective: row.n for row in conn.execute(
            select(rs.c.perspective, func.count().label("n")).group_by(rs.c.perspective).order_by(rs.c.perspective))}


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
    written = {}
    for kind in ("repositories", "links", "papers", "findings", "usages"):
        _fields, rows_of = EXPORTS[kind]
        with (out / f"{kind}.jsonl").open("wb") as fh:
            written[kind] = write_jsonl(rows_of(store), fh)
    total, rows = coverage(store)
    result.coverage_total = total
    (out / "coverage.json").write_bytes(orjson.dumps(
        {"hub": "huggingface", "models": total, "rows": [r.__dict__ for r in rows]}, option=orjson.OPT_INDENT_2))
    result.files = [out / name for name in ("ptmscope.db", "models.jsonl", "models.csv", "models.parquet",
                                            "repositories.jsonl", "links.jsonl", "papers.jsonl", "findings.jsonl",
                                            "usages.jsonl",
                                            "coverage.json")]
    result.files.append(out / "repos")
    say("Exported " + ", ".join(f"{v:,} {k}" for k, v in written.items()))
    say(f"Exported {n:,} models (jsonl, csv, parquet) and metadata coverage of {total:,} live Hub models:")
    for r in rows:
        say(f"  {r.metadata:<16} {r.models:>6,}  {r.percent:5.1f}%")
