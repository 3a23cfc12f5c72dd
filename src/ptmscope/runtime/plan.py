"""What ``ptmscope run`` does: the TOML configuration, validated, with one section per stage.

Every key has a default, so an empty file (or none) is a valid configuration: the whole pipeline over
the default endpoints. Unknown keys are errors, not silently ignored, since a misspelt threshold would
otherwise quietly run with the default. See ``docs/run.md`` for a commented example.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..errors import UsageError

# Snapshots come after usage and cards: they can be limited to the models some analysed code loads,
# and link the code a model runs with trust_remote_code to the call sites that run it.
STAGES = ("huggingface", "pytorch_hub", "papers", "link", "github", "clone", "scan", "usage", "cards", "snapshot",
          "licenses", "report")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    enabled: bool = True


class HuggingFacePlan(_Section):
    endpoint: str | None = None  # default: $HF_ENDPOINT or https://huggingface.co
    cards: bool = True
    history: bool = False
    # One request per model: a week of Hub quota at 2M models (docs/scale.md); snapshots list files anyway.
    files: bool = False
    limit: int | None = Field(None, ge=1)
    author: str | None = None
    # Incremental listing cannot see deletions or download-count changes; every Nth run re-lists all.
    full_every: int = Field(6, ge=1)
    workers: int = Field(8, ge=1, le=64)


class PyTorchHubPlan(_Section):
    source: str = "pytorch/hub"


class PaperQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    source: Literal["openreview", "arxiv", "dblp", "file"]
    venue: str | None = None
    year: int | None = None
    file: Path | None = None


class PapersPlan(_Section):
    queries: list[PaperQuery] = []


class GitHubPlan(_Section):
    api: str | None = None
    from_links: bool = True
    orgs: list[str] = ["huggingface"]
    forks: bool = True
    forks_of_forks: bool = False
    searches: list[str] = []
    workers: int = Field(8, ge=1, le=32)


class ClonePlan(_Section):
    workers: int = Field(4, ge=1, le=64)
    max_size: str = "1G"
    max_file_size: str = "50M"
    max_files: int = Field(100_000, ge=1)


class SnapshotPlan(_Section):
    enabled: bool = False  # downloads model weights: opt in
    min_downloads: int = Field(50, ge=0)
    max_file_size: str = "2G"
    revision_pinned: bool = False
    used: bool = False  # only models that some analysed code loads


class ScanPlan(_Section):
    scanners: list[str] = ["bandit", "flawfinder", "semgrep", "modelfiles"]


class UsagePlan(_Section):
    pass


class CardsPlan(_Section):
    llm: bool = False
    llm_url: str | None = None
    llm_model: str | None = None
    llm_threshold: float = Field(0.7, ge=0, le=1)


class LicensesPlan(_Section):
    pass


class ReportPlan(_Section):
    out: Path = Path("report")
    formats: list[Literal["html", "json", "csv"]] = ["html", "json", "csv"]


class RuntimePlan(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    workers: int | None = Field(None, ge=1)
    dask: str | None = None  # scheduler address; "local" starts a LocalCluster here


class RunPlan(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    huggingface: HuggingFacePlan = HuggingFacePlan()
    pytorch_hub: PyTorchHubPlan = PyTorchHubPlan()
    papers: PapersPlan = PapersPlan()
    link: _Section = _Section()
    github: GitHubPlan = GitHubPlan()
    clone: ClonePlan = ClonePlan()
    snapshot: SnapshotPlan = SnapshotPlan()
    scan: ScanPlan = ScanPlan()
    usage: UsagePlan = UsagePlan()
    cards: CardsPlan = CardsPlan()
    licenses: LicensesPlan = LicensesPlan()
    report: ReportPlan = ReportPlan()
    runtime: RuntimePlan = RuntimePlan()

    @field_validator("scan")
    @classmethod
    def _known_scanners(cls, value: ScanPlan) -> ScanPlan:
        from ..scan.run import SCANNERS

        unknown = sorted(set(value.scanners) - set(SCANNERS))
        if unknown:
            raise ValueError(f"unknown scanners {unknown}; known: {sorted(SCANNERS)}")
        return value

    def enabled(self) -> list[str]:
        return [stage for stage in STAGES if getattr(self, stage).enabled]


def load_plan(path: Path | None) -> RunPlan:
    """The plan in ``path`` (a TOML file), or the defaults; configuration mistakes are UsageErrors that
    name the key, so ``ptmscope run`` can print them in one line."""
    if path is None:
        return RunPlan()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"config file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read config {path}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: not valid TOML: {exc}") from None
    try:
        return RunPlan.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in err['loc']) or '(top)'}: {err['msg']}"
                             for err in exc.errors())
        raise UsageError(f"{path}: {problems}") from None
