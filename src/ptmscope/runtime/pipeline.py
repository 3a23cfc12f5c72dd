"""``ptmscope run``: every stage in order, each doing only what is new or changed since the last run.

Each stage is already incremental and resumable on its own (watermarks, conditional requests, remote
HEADs, content-addressed scan results, per-commit usage and per-card-version extraction), so the
pipeline adds no checkpoint of its own beyond the run record: after a crash or a kill, the next run
repeats at most the items that were in flight. A stage that fails is recorded with its error and the
pipeline goes on with the stages that do not need it; the pipeline run is then ``failed`` and the
exit status says so.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from .. import __version__
from ..config import Settings
from ..errors import PtmscopeError, SourceUnavailableError
from ..store import Store
from .executors import DaskExecutor, Executor, LocalExecutor
from .plan import RunPlan

log = logging.getLogger(__name__)

STAGE = "pipeline"
SOURCE = "ptmscope run"
Progress = Callable[[int], None]
ProgressFactory = Callable[[str, int | None], Progress]


class _Summary(Protocol):
    run_id: int

    def line(self) -> str: ...


@dataclass
class StageResult:
    stage: str
    status: str  # completed / failed / skipped
    seconds: float = 0.0
    line: str = ""
    counts: dict[str, Any] = field(default_factory=dict)
    run_ids: list[int] = field(default_factory=list)
    error: str | None = None


@dataclass
class PipelineResult:
    run_id: int
    stages: list[StageResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(s.status != "failed" for s in self.stages)


def summary_counts(summary: object) -> dict[str, Any]:
    counts = getattr(summary, "counts", None)
    if callable(counts):
        return dict(counts())
    if dataclasses.is_dataclass(summary) and not isinstance(summary, type):
        return {k: v for k, v in dataclasses.asdict(summary).items() if isinstance(v, int | float) and k != "run_id"}
    return {}


def _tool_version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def versions() -> dict[str, str]:
    """ptmscope's and every scanner's version, kept with each pipeline run: a change of scanner or
    rule set explains a change of findings between two months."""
    import hashlib

    from ..scan.semgrep import RULES

    found = {"ptmscope": __version__,
             "ptmscope-rules": hashlib.sha256(RULES.read_bytes()).hexdigest()[:16]}
    for package in ("bandit", "semgrep", "flawfinder", "picklescan", "huggingface_hub"):
        version = _tool_version(package)
        if version is not None:
            found[package] = version
    return found


class Pipeline:
    """Runs the plan's enabled stages against one store."""

    def __init__(self, store: Store, settings: Settings, plan: RunPlan, *,
                 progress: ProgressFactory, say: Callable[[str], None]) -> None:
        self.store = store
        # The plan's endpoints hold for every stage that talks to the source (snapshots use the Hub's).
        self.settings = settings.with_overrides(
            hf_endpoint=plan.huggingface.endpoint.rstrip("/") if plan.huggingface.endpoint else None,
            github_api=plan.github.api.rstrip("/") if plan.github.api else None)
        self.plan = plan
        self.progress = progress
        self.say = say
        self._executor: Executor | None = None

    @property
    def executor(self) -> Executor:
        if self._executor is None:
            rt = self.plan.runtime
            self._executor = (DaskExecutor(rt.dask, workers=rt.workers) if rt.dask
                              else LocalExecutor(rt.workers))
        return self._executor

    def run(self, only: list[str] | None = None) -> PipelineResult:
        self.store.interrupt_stale_runs(SOURCE)
        stages = [s for s in self.plan.enabled() if only is None or s in only]
        run_id = self.store.start_run(STAGE, SOURCE, params={"stages": stages,
                                                                      "plan": self.plan.model_dump(mode="json")},
                                      versions=versions())
        result = PipelineResult(run_id=run_id)
        try:
            with self.store.recording(run_id, lambda: {s.stage: {"status": s.status, "seconds": round(s.seconds, 1),
                                                                 "runs": s.run_ids, **s.counts}
                                                       for s in result.stages}):
                for stage in stages:
                    result.stages.append(self._stage(stage))
                if not result.ok:
                    failed = ", ".join(s.stage for s in result.stages if s.status == "failed")
                    raise _StagesFailedError(f"stages failed: {failed}")
        except _StagesFailedError:
            pass
        finally:
            if self._executor is not None:
                self._executor.close()
        return result

    def _stage(self, name: str) -> StageResult:
        start = time.monotonic()
        self.say(f"[{name}]")
        try:
            summaries = list(getattr(self, f"_run_{name}")())
        except (PtmscopeError, OSError) as exc:
            log.warning("stage %s failed: %s", name, exc)
            self.say(f"  failed: {exc}")
            return StageResult(name, "failed", time.monotonic() - start, error=str(exc))
        line = "; ".join(s.line() for s in summaries)
        counts: dict[str, Any] = {}
        for summary in summaries:
            for key, value in summary_counts(summary).items():
                counts[key] = counts.get(key, 0) + value if isinstance(value, int | float) else value
        if line:
            self.say(f"  {line}")
        return StageResult(name, "completed", time.monotonic() - start, line, counts,
                           [s.run_id for s in summaries if getattr(s, "run_id", None) is not None])

    # --- the stages ---------------------------------------------------------------------------------------------

    def _run_huggingface(self) -> Iterator[_Summary]:
        from ..hubs.collect import HfOptions, collect_huggingface
        from ..hubs.huggingface import HuggingFaceHub

        p = self.plan.huggingface
        full = self._completed_runs(STAGE) % p.full_every == p.full_every - 1
        hub = HuggingFaceHub(self.settings)
        try:
            yield collect_huggingface(self.store, hub, HfOptions(
                limit=p.limit, author=p.author, cards=p.cards, history=p.history, files=p.files, full=full,
                workers=p.workers), progress=self.progress("Hugging Face", p.limit))
        finally:
            hub.close()

    def _run_pytorch_hub(self) -> Iterator[_Summary]:
        from ..hubs.collect import collect_records
        from ..hubs.pytorch_hub import HUB, iter_catalogue

        source = self.plan.pytorch_hub.source
        catalogue = iter_catalogue(source, git_base=self.settings.git_base)
        yield collect_records(self.store, HUB, HUB, catalogue, mark_missing_deleted=True, params={"source": source},
                              skipped=catalogue.skipped)

    def _run_papers(self) -> Iterator[_Summary]:
        from ..papers.collect import collect_papers, make_source

        for query in self.plan.papers.queries:
            source = make_source(query.source, self.settings, path=query.file)
            try:
                yield collect_papers(self.store, source, query.venue, query.year,
                                     progress=self.progress(f"papers {query.venue or ''} {query.year or ''}", None),
                                     path=query.file)
            finally:
                source.close()

    def _run_link(self) -> Iterator[_Summary]:
        from ..link.run import link_all

        yield link_all(self.store, self.progress("linking", None))

    def _run_github(self) -> Iterator[_Summary]:
        from ..github.api import GitHubClient
        from ..github.collect import collect_github

        p = self.plan.github
        with GitHubClient(self.settings) as client:
            if p.from_links:
                # Refresh: repositories already fetched answer 304 when unchanged and cost no quota.
                yield collect_github(self.store, client, from_links=True, refresh=True, workers=p.workers,
                                     progress=self.progress("GitHub: linked repositories", None))
            for org in p.orgs:
                yield collect_github(self.store, client, org=org, forks=p.forks or p.forks_of_forks,
                                     recursive_forks=p.forks_of_forks, refresh=True, workers=p.workers,
                                     progress=self.progress(f"GitHub: {org}", None))
            for query in p.searches:
                yield collect_github(self.store, client, search=query, workers=p.workers,
                                     progress=self.progress(f"GitHub search: {query}", None))

    def _run_clone(self) -> Iterator[_Summary]:
        from ..cli.clone import parse_size
        from ..github.clone import CloneLimits
        from ..github.cloning import clone_all

        p = self.plan.clone
        limits = CloneLimits(max_bytes=parse_size(p.max_size, "clone.max_size"), max_files=p.max_files,
                             max_file_bytes=parse_size(p.max_file_size, "clone.max_file_size"))
        # git is I/O-bound: threads here, the cluster's workers when there is one.
        yield clone_all(self.store, self.settings, workers=p.workers, limits=limits,
                        progress=self.progress("cloning", None),
                        executor=self.executor if self.plan.runtime.dask else None)

    def _run_snapshot(self) -> Iterator[_Summary]:
        from ..cli.clone import parse_size
        from ..hubs.snapshot import snapshot_models

        p = self.plan.snapshot
        cap = parse_size(p.max_file_size, "snapshot.max_file_size")
        yield snapshot_models(self.store, self.settings, min_downloads=p.min_downloads, max_file_size=cap or None,
                              revision_pinned=p.revision_pinned, used=p.used, executor=self.executor,
                              advance=self.progress("snapshots", None))

    def _run_scan(self) -> Iterator[_Summary]:
        from ..scan.run import make_scanners, scan_all

        yield scan_all(self.store, self.settings, make_scanners(self.plan.scan.scanners), self.executor,
                       self.progress("scanning", None))

    def _run_usage(self) -> Iterator[_Summary]:
        from ..usage.run import usage_all

        yield usage_all(self.store, self.settings, self.executor, self.progress("usage", None))

    def _run_cards(self) -> Iterator[_Summary]:

        from ..cards.llm import llm_settings
        from ..cards.run import extract_all
        from ..errors import UsageError

        p = self.plan.cards
        llm = None
        if p.llm:
            try:
                llm = llm_settings(self.settings.llm_env, url=p.llm_url, model=p.llm_model, threshold=p.llm_threshold)
            except ValueError as exc:
                raise UsageError(f"cards.llm: {exc}") from None
        yield extract_all(self.store, self.settings, llm=llm, executor=self.executor,
                          advance=self.progress("model cards", None))

    def _run_licenses(self) -> Iterator[_Summary]:
        from ..licenses.run import check_all

        yield check_all(self.store, self.settings, self.progress("licenses", None), executor=self.executor)

    def _run_report(self) -> Iterator[_Summary]:
        from ..report.build import build_report

        p = self.plan.report
        out = p.out if p.out.is_absolute() else self.settings.data_dir / p.out
        summary = ReportSummary(self.store.start_run("report", str(out), {"formats": list(p.formats)}), out)
        with self.store.recording(summary.run_id, summary.counts):
            report, files = build_report(self.store, out, p.formats)
            summary.files = len(files)
            summary.key_numbers = report.key_numbers
        yield summary

    def _completed_runs(self, stage: str) -> int:
        from sqlalchemy import func, select

        from ..store import schema

        with self.store.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(schema.run).where(
                schema.run.c.stage == stage, schema.run.c.status == "completed")).scalar_one())


@dataclass
class ReportSummary:
    run_id: int
    out: Path
    files: int = 0
    key_numbers: dict[str, Any] = field(default_factory=dict)

    def counts(self) -> dict[str, Any]:
        return {"files": self.files}

    def line(self) -> str:
        return f"report: {self.files} files in {self.out} (open {self.out / 'report.html'})"


class _StagesFailedError(SourceUnavailableError):
    """Ends the recording context as a failed run, after every stage has had its turn."""

