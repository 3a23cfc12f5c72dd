"""A Hub corpus ptmscope generates itself: records, cards and histories from :mod:`.synth`."""

from __future__ import annotations

from datetime import datetime

from .huggingface import HubCorpus
from .synth import (
    DEFAULT_BASE_TIME,
    DEFAULT_MALFORMED_RATE,
    generate_card,
    generate_commits,
    generate_models,
    record_rng,
)


def synthetic_hub(n: int, seed: int = 0, *, cards: bool = True, commits: bool = False,
                  base_time: datetime = DEFAULT_BASE_TIME,
                  malformed_rate: float = DEFAULT_MALFORMED_RATE) -> HubCorpus:
    """``n`` generated models; with ``cards`` a README.md for each that lists one, and with
    ``commits`` a commit history for each (otherwise the Hub emulation answers one commit)."""
    records = list(generate_models(n, seed, base_time, malformed_rate=malformed_rate))
    corpus = HubCorpus(records)
    for index, record in enumerate(records):
        # A stream separate from the record's own, so cards never change the records.
        rng = record_rng(seed ^ 0x5EED, index)
        siblings = record.get("siblings") or []
        model_id = str(record["id"])
        if cards and any(isinstance(s, dict) and s.get("rfilename") == "README.md" for s in siblings):
            corpus.set_card(model_id, generate_card(record, rng))
        if commits:
            corpus.set_commits(model_id, generate_commits(record, rng))
    return corpus
