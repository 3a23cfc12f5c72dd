"""Scale simulation: generated Hub models and GitHub repositories through the metadata stages.

Pushes ``--models`` generated Hugging Face model records and ``--repos`` generated GitHub
repositories (a share of them forks in families) through ptmscope's metadata stages, each against
a replay server in its own process, into one store (SQLite file, or the PostgreSQL database given by
``--db``), and prints per stage: items/s, CPU seconds of this process and of the replay server,
HTTP requests, peak RSS, and the store's size on disk afterwards. ``--json PATH`` writes the same.

Stages, in order (generation is done before each stage starts and is never timed):
1. ``hf cards``: ``collect huggingface`` with cards over a sample of ``--card-sample`` further
   models (indices after the big corpus, so different ids), one README request per model that
   lists one: the per-model request rate. Served from an in-memory ``HubCorpus``, whose memory per
   model is reported too.
2. ``link (cards)``: ``link_all`` over the store, which holds only the carded sample so far.
3. ``hf listing``: ``collect huggingface --no-cards`` over ``--models`` records, 1,000 per page
   with every expand field ptmscope asks for. Cards stay off here because 1M cards is ~1M
   requests; their rate is stage 1's. The records are generated into a file and served from it in
   listing order, so neither process holds a million records.
4. ``link (all)``: ``link_all`` over every model (only the sample's cards name repositories).
5. ``github``: ``collect github --from-links --org ORG --forks`` (recursive) over a GitHub replay
   holding every linked repository plus one organisation whose repositories have fork families
   (forks of forks included), ``--repos`` repositories in all; the organisation's shape follows the
   MLOSS seed's Hugging Face organisation (111 roots, 28,067 forks).
6. ``cards extract`` / ``usage analyze`` (when ``ptmscope.cards.extract.extract_card`` /
   ``ptmscope.usage.analyzer.analyze_path`` exist): on the sample's cards / on generated
   repositories that load the sample's models; CPU-bound, one process.
7. ``scan sample``: ``scan_all`` (serial) over ``--scan-repos`` generated repositories registered as
   cloned (the generator of ``scan_forks.py``), for lines/s with every scanner and bytes per finding.

The run fails (exit 1) when a stage lost items: every generated model and repository must be stored.

    python bench/scale_sim.py [--models 1000000] [--repos 20000] [--db sqlite|URL] [--quick] [--json PATH]
"""

from __future__ import annotations

import argparse
import bisect
import importlib
import json
import multiprocessing as mp
import os
import platform
import random
import shutil
import sys
import tempfile
import threading
import time
from array import array
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import psutil

os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

Record = dict[str, Any]
ORG = "hf-scale-lab"
# MLOSS seed, section 4.2: the verified Hugging Face organisation had 111 repositories forked 28,067 times.
MLOSS_ROOTS, MLOSS_FORKS = 111, 28_067
FORK_OF_FORK_SHARE = 0.1
DOWNLOADS_SNAPSHOT = 50  # PeaTMOSS snapshots models with more than 50 downloads


# -- measuring -------------------------------------------------------------------------------------


class Sampler:
    """Peak RSS of this process and of the replay servers, sampled from a thread."""

    def __init__(self, interval: float = 0.2) -> None:
        self.interval = interval
        self.me = psutil.Process()
        self.servers: dict[str, psutil.Process] = {}
        self.peak: dict[str, int] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        targets = {"driver": self.me, **self.servers}
        for name, proc in targets.items():
            try:
                rss = proc.memory_info().rss
            except psutil.Error:
                continue
            with self._lock:
                self.peak[name] = max(self.peak.get(name, 0), rss)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def watch(self, name: str, pid: int) -> None:
        self.servers[name] = psutil.Process(pid)

    def unwatch(self, name: str) -> None:
        self.servers.pop(name, None)

    def reset(self) -> None:
        with self._lock:
            self.peak.clear()
        self._sample()

    def peaks(self) -> dict[str, int]:
        self._sample()
        with self._lock:
            return dict(self.peak)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def cpu_seconds(proc: psutil.Process) -> float:
    """User + system time, with that of finished child processes (the scanners run as children)."""
    try:
        times = proc.cpu_times()
    except psutil.Error:
        return 0.0
    return float(times.user + times.system + times.children_user + times.children_system)


@dataclass
class StageResult:
    name: str
    unit: str
    items: int = 0
    seconds: float = 0.0
    driver_cpu_s: float = 0.0
    server_cpu_s: float = 0.0
    requests: int = 0
    peak_rss_mb: float = 0.0
    server_peak_rss_mb: float = 0.0
    store_bytes_after: int = 0
    counts: dict[str, Any] = field(default_factory=dict)
    note: str = ""

    @property
    def per_second(self) -> float:
        return self.items / self.seconds if self.seconds else 0.0


class Bench:
    def __init__(self, store: Any, sampler: Sampler) -> None:
        self.store = store
        self.sampler = sampler
        self.results: list[StageResult] = []

    @contextmanager
    def stage(self, name: str, unit: str, server: str | None = None) -> Iterator[StageResult]:
        result = StageResult(name, unit)
        server_proc = self.sampler.servers.get(server) if server else None
        self.sampler.reset()
        print(f"-- {name} ...", flush=True)
        cpu0 = cpu_seconds(self.sampler.me)
        server_cpu0 = cpu_seconds(server_proc) if server_proc else 0.0
        start = time.perf_counter()
        yield result
        result.seconds = time.perf_counter() - start
        result.driver_cpu_s = cpu_seconds(self.sampler.me) - cpu0
        result.server_cpu_s = cpu_seconds(server_proc) - server_cpu0 if server_proc else 0.0
        peaks = self.sampler.peaks()
        result.peak_rss_mb = peaks.get("driver", 0) / 2**20
        result.server_peak_rss_mb = peaks.get(server, 0) / 2**20 if server else 0.0
        result.store_bytes_after = store_bytes(self.store)
        self.results.append(result)
        print(f"   {result.items:,} {unit} in {result.seconds:.1f} s = {result.per_second:,.0f}/s; "
              f"{result.counts or ''} {result.note}".rstrip(), flush=True)


def store_bytes(store: Any) -> int:
    """Bytes the store takes on disk now (SQLite: file + WAL after a checkpoint; PostgreSQL: the database)."""
    if store.dialect == "sqlite":
        with store.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        path = Path(str(store.engine.url.database))
        return sum(p.stat().st_size for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists())
    with store.engine.connect() as conn:
        return int(conn.exec_driver_sql("SELECT pg_database_size(current_database())").scalar_one())


# -- the Hub replay: a corpus on disk, served in listing order --------------------------------------


class DiskRecords:
    """Generated model records appended to one file; any record read back by its position."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offsets = array("Q", [0])
        self._out = path.open("wb")
        self._fd = -1

    def append(self, record: Record) -> None:
        data = orjson.dumps(record)
        self._out.write(data)
        self.offsets.append(self.offsets[-1] + len(data))

    def seal(self) -> None:
        self._out.close()
        self._fd = os.open(self.path, os.O_RDONLY)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def record(self, index: int) -> Record:
        start, end = self.offsets[index], self.offsets[index + 1]
        value: Record = orjson.loads(os.pread(self._fd, end - start, start))
        return value


def serve_disk_hub(workdir: str, n: int, seed: int, ready: Any) -> None:
    """Replay-server process: generate ``n`` records into a file, then serve them in listing order."""
    from ptmscope.replay import HuggingFaceApp, ReplayServer
    from ptmscope.replay.huggingface import HubCorpus, _Entry, _sort_value, _SortIndex
    from ptmscope.replay.synth import generate_models

    records = DiskRecords(Path(workdir) / "hub-records.bin")
    neg_keys = array("d")
    ids: list[str] = []
    shape = SnapshotShape()
    for record in generate_models(n, seed):
        records.append(record)
        neg_keys.append(-_sort_value(record, "lastModified"))
        ids.append(str(record["id"]))
        shape.add(record)
    records.seal()
    # The Hub's descending order with ties broken by id; the ids go once the order is known.
    order = array("I", sorted(range(n), key=lambda i: (neg_keys[i], ids[i])))
    ids.clear()

    class Keys:
        def __len__(self) -> int:
            return len(order)

        def __getitem__(self, position: int) -> tuple[float, str]:
            index = order[position]
            return neg_keys[index], str(records.record(index)["id"])

    class Entries:
        def __len__(self) -> int:
            return len(order)

        def __getitem__(self, position: int) -> Any:
            return _Entry(records.record(order[position]))

    index = _SortIndex(Keys(), Entries())  # type: ignore[arg-type]

    class DiskCorpus(HubCorpus):
        """Listing only: every sort is served in lastModified order (the other sorts are only asked
        for by the reachability check), and per-model routes answer 404 (no cards are asked for)."""

        def __len__(self) -> int:
            return n

        def _sorted(self, sort: str) -> _SortIndex:
            return index

        def _entry(self, model_id: str) -> _Entry | None:
            return None

    server = ReplayServer(HuggingFaceApp(DiskCorpus())).start()
    ready.put({"url": server.url, "snapshot": shape.summary(), "file_bytes": records.offsets[-1]})
    while True:
        time.sleep(3600)


def sample_records(first: int, count: int, seed: int) -> Iterator[tuple[Record, str | None]]:
    """Records ``first .. first+count-1`` of the corpus, each with the card ``synthetic_hub`` would give it."""
    from ptmscope.replay.synth import generate_card, generate_model, record_rng

    for index in range(first, first + count):
        record = generate_model(index, record_rng(seed, index))
        siblings = record.get("siblings") or []
        has_card = any(isinstance(s, dict) and s.get("rfilename") == "README.md" for s in siblings)
        yield record, generate_card(record, record_rng(seed ^ 0x5EED, index)) if has_card else None


def serve_card_hub(first: int, count: int, seed: int, ready: Any) -> None:
    """Replay-server process: the card sample, in memory, as tests and ``demo`` hold a corpus."""
    from ptmscope.replay import HubCorpus, HuggingFaceApp, ReplayServer

    before = psutil.Process().memory_info().rss
    corpus = HubCorpus()
    for record, card in sample_records(first, count, seed):
        corpus.put_model(record)
        if card is not None:
            corpus.set_card(str(record["id"]), card)
    held = psutil.Process().memory_info().rss - before
    server = ReplayServer(HuggingFaceApp(corpus)).start()
    ready.put({"url": server.url, "corpus_rss_bytes": held})
    while True:
        time.sleep(3600)


@dataclass
class SnapshotShape:
    """What the generated corpus says a PeaTMOSS-style snapshot (models > 50 downloads) would fetch."""

    models: int = 0
    selected: int = 0
    selected_files: int = 0
    selected_bytes: list[int] = field(default_factory=list)

    def add(self, record: Mapping[str, Any]) -> None:
        self.models += 1
        downloads = record.get("downloads")
        if isinstance(downloads, int) and downloads > DOWNLOADS_SNAPSHOT:
            self.selected += 1
            siblings = [s for s in record.get("siblings") or () if isinstance(s, dict)]
            self.selected_files += len(siblings)
            self.selected_bytes.append(sum(s["size"] for s in siblings if isinstance(s.get("size"), int)))

    def summary(self) -> dict[str, float]:
        sizes = sorted(self.selected_bytes)
        total = sum(sizes)
        return {"models": self.models, "selected": self.selected,
                "selected_share": self.selected / self.models if self.models else 0.0,
                "files_per_selected": self.selected_files / self.selected if self.selected else 0.0,
                "median_bytes": sizes[len(sizes) // 2] if sizes else 0,
                "p90_bytes": sizes[int(len(sizes) * 0.9)] if sizes else 0,
                "mean_bytes": total / len(sizes) if sizes else 0.0, "total_bytes": total}


# -- the GitHub replay --------------------------------------------------------------------------------


def github_records(linked: Sequence[tuple[str, str]], total: int, seed: int) -> tuple[list[Record], dict[str, int]]:
    """Every linked repository, then an organisation with fork families up to ``total`` repositories."""
    from ptmscope.replay.github import synthetic_repo

    rng = random.Random(seed)
    start = datetime(2019, 1, 1, tzinfo=UTC)
    span = (datetime(2025, 6, 1, tzinfo=UTC) - start).total_seconds()
    out: list[Record] = []
    next_id = 700_000_000

    def created() -> datetime:
        return start + timedelta(seconds=int(rng.uniform(0, span)))

    family_budget = max(total - len(linked), 2, total // 10)
    for owner, name in linked[:max(0, total - family_budget)]:
        out.append(synthetic_repo(f"{owner}/{name}", next_id, created(), size=int(rng.lognormvariate(7.5, 2.0)),
                                  stargazers_count=int(rng.paretovariate(1.2)) - 1, description=f"Code for {name}"))
        next_id += 1

    roots = max(1, round(family_budget * MLOSS_ROOTS / (MLOSS_ROOTS + MLOSS_FORKS)))
    parent_of: list[int] = list(range(roots))  # a root is its own parent
    family_of: list[int] = list(range(roots))
    members: list[list[int]] = [[r] for r in range(roots)]
    weights = [1.0 / (k + 1) for k in range(roots)]  # a few roots draw most forks, as on GitHub
    cum = [sum(weights[:k + 1]) for k in range(roots)]
    for node in range(roots, family_budget):
        family = bisect.bisect_left(cum, rng.random() * cum[-1])
        family = min(family, roots - 1)
        forks_so_far = members[family][1:]
        parent_of.append(rng.choice(forks_so_far) if forks_so_far and rng.random() < FORK_OF_FORK_SHARE else family)
        family_of.append(family)
        members[family].append(node)
    children = [0] * family_budget
    for node in range(roots, family_budget):
        children[parent_of[node]] += 1

    built: list[Record] = []
    for node in range(family_budget):
        name = f"ml-toolkit-{family_of[node]:03d}"
        if node < roots:
            record = synthetic_repo(f"{ORG}/{name}", next_id, created(), organization=True,
                                    forks_count=children[node], stargazers_count=children[node] * 3,
                                    size=int(rng.lognormvariate(9, 1.5)))
        else:
            upstream = built[parent_of[node]]
            record = synthetic_repo(f"forker{node:06d}/{name}", next_id, datetime.fromisoformat(upstream["created_at"])
                                    + timedelta(days=rng.randint(1, 400)), parent=upstream,
                                    forks_count=children[node], size=upstream["size"])
        next_id += 1
        built.append(record)
    out.extend(built)
    shape = {"linked": len(out) - family_budget, "org_roots": roots, "forks": family_budget - roots,
             "forks_of_forks": sum(1 for node in range(roots, family_budget) if parent_of[node] >= roots)}
    return out, shape


def serve_github(records: list[Record], ready: Any) -> None:
    from ptmscope.replay import ReplayServer
    from ptmscope.replay.github import GitHubApp, GitHubCorpus

    class IndexedCorpus(GitHubCorpus):
        """Forks found through an index: the emulation scans every record per call, which at 20,000
        repositories would make the replay, not ptmscope, the stage's bottleneck."""

        def __init__(self, repos: list[Record]) -> None:
            super().__init__(repos, core_limit=10**9, search_limit=10**9)
            self.children: dict[int, list[Record]] = {}
            for record in self.repos.values():
                parent = record.get("parent")
                if isinstance(parent, Mapping):
                    self.children.setdefault(int(parent["id"]), []).append(record)

        def forks_of(self, repo_id: int) -> list[Record]:
            return list(self.children.get(repo_id, ()))

    corpus = IndexedCorpus(records)
    corpus.add_org(ORG)
    server = ReplayServer(GitHubApp(corpus)).start()
    ready.put({"url": server.url})
    while True:
        time.sleep(3600)


# -- optional CPU-bound stages -----------------------------------------------------------------------


def optional(module: str, attr: str) -> Callable[..., Any] | None:
    try:
        found = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        print(f"-- skipped: {module}.{attr} is not available ({type(exc).__name__}: {exc})", flush=True)
        return None
    return found if callable(found) else None


LOADERS = (
    'model = AutoModel.from_pretrained("{m}")\n',
    'tokenizer = AutoTokenizer.from_pretrained("{m}", revision="main")\n',
    'clf = pipeline("text-classification", model="{m}")\n',
    'model = AutoModelForCausalLM.from_pretrained("{m}", trust_remote_code=True)\n',
    'path = hf_hub_download(repo_id="{m}", filename="config.json")\n',
    'encoder = SentenceTransformer("{m}")\n',
)
HEADER = ("from huggingface_hub import hf_hub_download\nfrom sentence_transformers import SentenceTransformer\n"
          "from transformers import AutoModel, AutoModelForCausalLM, AutoTokenizer, pipeline\n\n")


def usage_repos(root: Path, model_ids: Sequence[str], repos: int, files: int, seed: int) -> tuple[int, int]:
    """``repos`` directories of Python modules (the scan benchmark's generator) that load sample models."""
    sys.path.insert(0, str(Path(__file__).parent))
    from scan_forks import make_files

    rng = random.Random(seed)
    count = lines = 0
    for r in range(repos):
        for rel, body in make_files(rng, f"downstream{r}", files).items():
            data = body
            if rel.endswith(".py"):
                calls = "".join(rng.choice(LOADERS).format(m=rng.choice(model_ids)) for _ in range(rng.randint(1, 4)))
                data = (HEADER + calls + "\n").encode() + body
            path = root / f"repo{r:03d}" / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            count += 1
            lines += data.count(b"\n")
    return count, lines


def scan_sample(url: str, settings: Any, count: int, seed: int) -> int:
    """``count`` distinct repositories (the scan benchmarks' generator) registered as cloned; their lines."""
    sys.path.insert(0, str(Path(__file__).parent))
    from scan_forks import HOST, files_of, make_files, make_repo, register

    repos = []
    for n in range(count):
        owner, name = f"scan-sample-{n:02d}", "project"
        root = settings.repos_dir / HOST / owner / name
        repos.append((owner, name, root, make_repo(root, make_files(random.Random(seed * 1000 + n), owner, 40))))
    register(url, settings.repos_dir, repos)
    return sum(p.read_bytes().count(b"\n") for _, _, root, _ in repos for p in files_of(root))


# -- driver ----------------------------------------------------------------------------------------------


def start_server(target: Callable[..., None], *args: Any) -> tuple[mp.Process, dict[str, Any]]:
    ready: Any = mp.Queue()
    proc = mp.Process(target=target, args=(*args, ready), daemon=True)
    proc.start()
    info: dict[str, Any] = ready.get(timeout=3600)
    return proc, info


def stop_server(proc: mp.Process) -> None:
    proc.terminate()
    proc.join(timeout=30)


def linked_github_repos(store: Any) -> list[tuple[str, str]]:
    from sqlalchemy import select

    from ptmscope.store import schema

    r = schema.repository
    with store.engine.connect() as conn:
        rows = conn.execute(select(r.c.owner, r.c.name).where(r.c.host == "github.com").order_by(r.c.id)).all()
    return [(str(owner), str(name)) for owner, name in rows]


def count_rows(store: Any, table: str) -> int:
    from sqlalchemy import func, select

    from ptmscope.store import schema

    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(getattr(schema, table))).scalar_one())


def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    from ptmscope.config import Settings
    from ptmscope.github.api import GitHubClient
    from ptmscope.github.collect import collect_github
    from ptmscope.hubs.collect import HfOptions, collect_huggingface
    from ptmscope.hubs.huggingface import HUB, HuggingFaceHub
    from ptmscope.link.run import link_all
    from ptmscope.store import open_store

    url = f"sqlite:///{workdir / 'scale.db'}" if args.db == "sqlite" else args.db
    store = open_store(url)
    if count_rows(store, "model"):
        raise SystemExit(f"{args.db} already holds models; give an empty database")
    sampler = Sampler()
    bench = Bench(store, sampler)
    out: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cores": os.cpu_count(), "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
                    "python": platform.python_version(), "platform": platform.platform(),
                    "load_average_at_start": os.getloadavg()},
        "params": {"models": args.models, "repos": args.repos, "card_sample": args.card_sample,
                   "seed": args.seed, "db": store.dialect, "workers": args.workers},
    }
    empty = store_bytes(store)
    print(f"scale simulation: {args.models:,} models + {args.card_sample:,} with cards, {args.repos:,} repositories; "
          f"store {store.dialect}; {os.cpu_count()} cores", flush=True)

    print("generating the Hub corpora (not timed) ...", flush=True)
    gen_start = time.perf_counter()
    big_proc, big = start_server(serve_disk_hub, str(workdir), args.models, args.seed)
    cards_proc, cards = start_server(serve_card_hub, args.models, args.card_sample, args.seed)
    sampler.watch("hub", big_proc.pid or 0)
    sampler.watch("cards", cards_proc.pid or 0)
    out["generation_seconds"] = time.perf_counter() - gen_start
    out["snapshot_shape"] = big["snapshot"]
    out["hub_file_bytes"] = big["file_bytes"]
    out["in_memory_corpus_bytes_per_model"] = cards["corpus_rss_bytes"] / max(1, args.card_sample)
    print(f"   {out['generation_seconds']:.0f} s; records file {big['file_bytes'] / 2**20:,.0f} MB; in-memory "
          f"HubCorpus with cards: {out['in_memory_corpus_bytes_per_model'] / 1024:.1f} KB per model", flush=True)

    opts = HfOptions(cards=True, workers=args.workers)
    hub = HuggingFaceHub(Settings(hf_endpoint=cards["url"], data_dir=workdir / "data"))
    with bench.stage("hf cards", "models", server="cards") as result:
        summary = collect_huggingface(store, hub, opts)
        result.items, result.requests = summary.seen, hub.stats.requests
        result.counts = {"new": summary.new, "failed": summary.failed}
    sample_run = summary.run_id
    hub.close()
    stop_server(cards_proc)
    sampler.unwatch("cards")

    with bench.stage("link (cards)", "models") as result:
        linked = link_all(store)
        result.items = linked.models
        result.counts = {"linked": linked.models_linked, "links": linked.model_links, "repos": linked.repositories}

    # The sample's completed run moved the watermark past most of the big corpus; a first crawl of
    # that corpus must start from none.
    store.save_crawl_state(HUB, watermark=None, run_id=sample_run)
    hub = HuggingFaceHub(Settings(hf_endpoint=big["url"], data_dir=workdir / "data"))
    with bench.stage("hf listing", "models", server="hub") as result:
        summary = collect_huggingface(store, hub, HfOptions(cards=False, workers=args.workers))
        result.items, result.requests = summary.seen, hub.stats.requests
        result.counts = {"new": summary.new, "failed": summary.failed, "unchanged": summary.unchanged}
    hub.close()
    stop_server(big_proc)
    sampler.unwatch("hub")
    (workdir / "hub-records.bin").unlink(missing_ok=True)

    with bench.stage("link (all)", "models") as result:
        linked = link_all(store)
        result.items = linked.models
        result.counts = {"linked": linked.models_linked, "links": linked.model_links, "repos": linked.repositories}

    print("generating the GitHub corpus (not timed) ...", flush=True)
    records, shape = github_records(linked_github_repos(store), args.repos, args.seed)
    out["github_shape"] = shape
    gh_proc, gh = start_server(serve_github, records)
    del records
    sampler.watch("github", gh_proc.pid or 0)
    client = GitHubClient(Settings(github_api=gh["url"], github_token="scale-sim", data_dir=workdir / "data"))
    with bench.stage("github", "repos", server="github") as result:
        gsum = collect_github(store, client, from_links=True, org=ORG, forks=True, recursive_forks=True,
                              workers=args.workers)
        result.items, result.requests = gsum.listed + gsum.fetched, client.stats.requests
        result.counts = {"listed": gsum.listed, "fetched": gsum.fetched, "new": gsum.new,
                         "not_found": gsum.not_found, "failed": gsum.failed}
    client.close()
    stop_server(gh_proc)
    sampler.unwatch("github")

    extract_card = optional("ptmscope.cards.extract", "extract_card")
    if extract_card is not None:
        carded = [(str(r["id"]), list(r.get("tags") or []), card)
                  for r, card in sample_records(args.models, args.card_sample, args.seed) if card]
        with bench.stage("cards extract", "cards") as result:
            for model_id, tags, text in carded:
                extract_card(text, model_id=model_id, api_tags=tags)
            result.items = len(carded)
            result.note = f"{sum(len(text) for _, _, text in carded) / 2**20:.1f} MB of card text"
    analyze_path = optional("ptmscope.usage.analyzer", "analyze_path")
    if analyze_path is not None:
        ids = [str(r["id"]) for r, _ in sample_records(args.models, min(args.card_sample, 2000), args.seed)]
        root = workdir / "usage"
        files, lines = usage_repos(root, ids, args.usage_repos, 40, args.seed)
        with bench.stage("usage analyze", "files") as result:
            found = sum(len(getattr(analyze_path(repo), "usages", ())) for repo in sorted(root.iterdir()))
            result.items = files
            result.note = f"{lines:,} lines, {found:,} model loads found"

    bytes_per_finding = None
    if args.scan_repos:
        from ptmscope.scan.run import make_scanners, scan_all

        settings = Settings(data_dir=workdir / "data")
        lines = scan_sample(url, settings, args.scan_repos, args.seed)
        before = store_bytes(store)
        with bench.stage("scan sample", "lines") as result:
            scanned = scan_all(store, settings, make_scanners(["bandit", "flawfinder", "semgrep", "modelfiles"]))
            result.items = lines
            result.counts = {"repos": scanned.scanned, "findings": scanned.findings, "failed": scanned.failed}
            result.note = "serial, CPU s include the scanner processes"
        bytes_per_finding = (result.store_bytes_after - before) / max(1, scanned.findings)

    sampler.stop()
    total = store_bytes(store)
    models, repos, links = count_rows(store, "model"), count_rows(store, "repository"), count_rows(store, "link")
    by_name = {r.name: r for r in bench.results}
    listing_growth = by_name["hf listing"].store_bytes_after - by_name["link (cards)"].store_bytes_after
    github_growth = by_name["github"].store_bytes_after - by_name["link (all)"].store_bytes_after
    out["store"] = {"dialect": store.dialect, "bytes": total, "empty_bytes": empty, "models": models,
                    "repositories": repos, "links": links,
                    "bytes_per_listed_model": listing_growth / max(1, by_name["hf listing"].counts["new"]),
                    "bytes_per_carded_model": (by_name["hf cards"].store_bytes_after - empty)
                    / max(1, args.card_sample),
                    "bytes_per_github_repo": github_growth / max(1, by_name["github"].items),
                    "bytes_per_finding": bytes_per_finding}
    out["stages"] = [{**asdict(r), "per_second": r.per_second} for r in bench.results]
    # A stage that silently dropped items would report a flattering rate.
    out["checks"] = {
        "every carded model stored": by_name["hf cards"].counts["new"] == args.card_sample,
        "every listed model stored": by_name["hf listing"].counts["new"] == args.models,
        "every repository collected": by_name["github"].items == args.repos
        and not by_name["github"].counts["failed"] and not by_name["github"].counts["not_found"],
    }
    return out


def print_table(out: Mapping[str, Any]) -> None:
    print()
    print(f"{'stage':<15} {'items':>10} {'s':>8} {'items/s':>9} {'CPU s':>7} {'srv CPU':>7} {'requests':>9} "
          f"{'req/s':>7} {'peak RSS':>9} {'srv RSS':>8} {'store MB':>9}")
    for s in out["stages"]:
        req_rate = s["requests"] / s["seconds"] if s["seconds"] and s["requests"] else 0
        print(f"{s['name']:<15} {s['items']:>10,} {s['seconds']:>8.1f} {s['per_second']:>9,.0f} "
              f"{s['driver_cpu_s']:>7.1f} {s['server_cpu_s']:>7.1f} {s['requests']:>9,} {req_rate:>7,.0f} "
              f"{s['peak_rss_mb']:>7.0f}MB {s['server_peak_rss_mb']:>6.0f}MB {s['store_bytes_after'] / 2**20:>9,.1f}")
    st = out["store"]
    print(f"store ({st['dialect']}): {st['bytes'] / 2**20:,.1f} MB for {st['models']:,} models, "
          f"{st['repositories']:,} repositories, {st['links']:,} links; "
          f"{st['bytes_per_listed_model']:,.0f} B per listed model, {st['bytes_per_carded_model']:,.0f} B per model "
          f"with card, {st['bytes_per_github_repo']:,.0f} B per GitHub repository"
          + (f", {st['bytes_per_finding']:,.0f} B per finding" if st["bytes_per_finding"] else ""))
    snap = out["snapshot_shape"]
    print(f"generated corpus: {snap['selected_share']:.1%} of models have > {DOWNLOADS_SNAPSHOT} downloads; their "
          f"head revision: median {snap['median_bytes'] / 2**20:,.0f} MB, p90 {snap['p90_bytes'] / 2**30:,.1f} GB, "
          f"mean {snap['mean_bytes'] / 2**30:,.2f} GB, {snap['files_per_selected']:.1f} files")
    print(f"GitHub corpus: {out['github_shape']}")
    print("checks: " + ", ".join(f"{name}: {'yes' if ok else 'NO'}" for name, ok in out["checks"].items()))
    print(f"date {out['date']}; {out['machine']['cores']} cores, {out['machine']['memory_gb']} GB, "
          f"python {out['machine']['python']}; load at start {out['machine']['load_average_at_start']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", type=int, default=1_000_000)
    parser.add_argument("--repos", type=int, default=20_000, help="GitHub repositories in the replay, forks included")
    parser.add_argument("--card-sample", type=int, help="models collected with cards (default: 2%% of --models)")
    parser.add_argument("--db", default="sqlite", help="'sqlite' (a file in the work directory) or an empty "
                                                       "PostgreSQL database URL")
    parser.add_argument("--quick", action="store_true", help="50,000 models and 2,000 repositories")
    parser.add_argument("--workers", type=int, default=8, help="HTTP threads of the collectors")
    parser.add_argument("--usage-repos", type=int, default=20, help="generated downstream repositories for usage")
    parser.add_argument("--scan-repos", type=int, default=8, help="generated repositories scanned (0: no scan)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--workdir", type=Path, help="where the store and the records file go (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args(argv)
    if args.quick:
        args.models, args.repos, args.scan_repos = 50_000, 2_000, min(args.scan_repos, 4)
    if args.card_sample is None:
        args.card_sample = max(1_000, args.models // 50)
    workdir = Path(tempfile.mkdtemp(prefix="ptmscope-scale-", dir=args.workdir))
    try:
        out = run(args, workdir)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    print_table(out)
    if args.json:
        args.json.write_text(json.dumps(out, indent=2, default=str) + "\n")
        print(f"figures written to {args.json}")
    return 0 if all(out["checks"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
