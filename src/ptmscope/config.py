"""The one place that reads the environment.

Everything else receives a :class:`Settings` so that tests and the CLI can override any value
without touching ``os.environ``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

DEFAULT_HF_ENDPOINT = "https://huggingface.co"
DEFAULT_GITHUB_API = "https://api.github.com"
DEFAULT_GIT_BASE = "https://github.com"
DEFAULT_OPENREVIEW_API = "https://api2.openreview.net"
DEFAULT_ARXIV_API = "https://export.arxiv.org/api"
DEFAULT_DBLP_API = "https://dblp.org"


def _env(name: str) -> str | None:
    value = os.environ.get(name)
    return value if value else None


@dataclass(frozen=True)
class HttpSettings:
    """Retry and timeout policy shared by every HTTP client ptmscope builds."""

    timeout: float = 30.0
    max_retries: int = 6
    backoff_base: float = 0.5
    backoff_max: float = 60.0
    # Servers may ask for very long waits (hourly rate-limit windows); beyond this we give up
    # on the request instead of sleeping for an hour inside a crawl.
    max_retry_after: float = 900.0


@dataclass(frozen=True)
class Settings:
    data_dir: Path = field(default_factory=lambda: Path("ptmscope-data"))
    db_url: str | None = None
    hf_endpoint: str = DEFAULT_HF_ENDPOINT
    hf_token: str | None = field(default=None, repr=False)
    github_api: str = DEFAULT_GITHUB_API
    github_token: str | None = field(default=None, repr=False)
    git_base: str = DEFAULT_GIT_BASE
    openreview_api: str = DEFAULT_OPENREVIEW_API
    arxiv_api: str = DEFAULT_ARXIV_API
    dblp_api: str = DEFAULT_DBLP_API
    http: HttpSettings = field(default_factory=HttpSettings)
    # The optional LLM of the cards stage: PTMSCOPE_LLM_* and OPENAI_API_KEY as set, read by
    # ptmscope.cards.llm.llm_settings (which knows their meaning).
    llm_env: dict[str, str] = field(default_factory=dict, repr=False)

    @classmethod
    def from_env(cls) -> Settings:
        http = HttpSettings(
            timeout=float(_env("PTMSCOPE_HTTP_TIMEOUT") or HttpSettings.timeout),
            max_retries=int(_env("PTMSCOPE_HTTP_RETRIES") or HttpSettings.max_retries),
            backoff_base=float(_env("PTMSCOPE_HTTP_BACKOFF") or HttpSettings.backoff_base),
        )
        return cls(
            data_dir=Path(_env("PTMSCOPE_DATA_DIR") or "ptmscope-data"),
            db_url=_env("PTMSCOPE_DB"),
            hf_endpoint=(_env("HF_ENDPOINT") or DEFAULT_HF_ENDPOINT).rstrip("/"),
            hf_token=_env("HF_TOKEN"),
            github_api=(_env("PTMSCOPE_GITHUB_API") or DEFAULT_GITHUB_API).rstrip("/"),
            github_token=_env("GITHUB_TOKEN"),
            git_base=(_env("PTMSCOPE_GIT_BASE") or DEFAULT_GIT_BASE).rstrip("/"),
            openreview_api=(_env("PTMSCOPE_OPENREVIEW_API") or DEFAULT_OPENREVIEW_API).rstrip("/"),
            arxiv_api=(_env("PTMSCOPE_ARXIV_API") or DEFAULT_ARXIV_API).rstrip("/"),
            dblp_api=(_env("PTMSCOPE_DBLP_API") or DEFAULT_DBLP_API).rstrip("/"),
            http=http,
            llm_env={k: v for k, v in os.environ.items() if k.startswith("PTMSCOPE_LLM_") or k == "OPENAI_API_KEY"},
        )

    @property
    def repos_dir(self) -> Path:
        """Where clones live: ``PTMSCOPE_DATA_DIR/repos/<host>/<owner>/<name>``."""
        return self.data_dir / "repos"

    @property
    def database_url(self) -> str:
        if self.db_url:
            return self.db_url
        return f"sqlite:///{(self.data_dir / 'ptmscope.db').as_posix()}"

    def with_overrides(self, **changes: object) -> Settings:
        clean = {k: v for k, v in changes.items() if v is not None}
        return replace(self, **clean)  # type: ignore[arg-type]
