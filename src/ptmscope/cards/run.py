"""``cards extract --all``: every stored model card through the extractors, into ``card_metadata``,
``card_extraction``, ``model_edge`` and (with an LLM) ``card_review``.

Incremental: a model whose card (``model.card_sha``, or a hash of the text where the hub gives no sha)
and extractor version are those of its ``card_extraction`` row is skipped. The version is the
deterministic extractor's, plus the LLM's (model, prompts, thresholds) when the LLM was used; a run
without ``--llm`` takes a card the LLM already read as up to date.

The deterministic extractor runs on the executor's workers, a batch of cards per task (plain values in
and out); the LLM, which waits on the network, runs on a few threads here; this process alone writes
the store, one transaction per batch, so a killed run keeps the batches it finished.
"""

from __future__ import annotations

import hashlib
import importlib
import logging
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import Connection, select

from .. import __version__
from ..config import Settings
from ..jsonvalues import chunks
from ..runtime.executors import Executor
from ..store import Store, schema
from ..store import cards as store_cards
from ..store.cards import LLM_PREFIX, EdgeRow, ExtractionState, MetadataRow, ReviewRow
from .lineage import edges_from_evidence
from .llm import LlmExtractor, LlmOutcome, LlmSettings
from .schema import CardExtractor, Extraction, FieldValue

log = logging.getLogger(__name__)

STAGE = "cards"
BATCH_CARDS = 64
ROUND_CARDS = 2000
_ERROR_MAX = 2000
Progress = Callable[[int], None]

M = schema.model
DEFAULT_EXTRACTOR = "ptmscope.cards.extract:DeterministicExtractor"


# --- the workers' side ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CardTask:
    pk: int
    model_id: str
    text: str
    tags: tuple[str, ...]
    card_data: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class CardBatch:
    extractor: str  # "module:ClassName", built once per worker with no arguments
    tasks: tuple[CardTask, ...]


@dataclass(slots=True)
class CardResult:
    pk: int
    fields: dict[str, FieldValue] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    edges: list[EdgeRow] = field(default_factory=list)
    failure: str | None = None  # the extractor raised: nothing of the card is written


_EXTRACTORS: dict[str, CardExtractor] = {}


def extractor_spec(extractor: CardExtractor) -> str:
    cls = type(extractor)
    return f"{cls.__module__}:{cls.__qualname__}"


def load_extractor(spec: str) -> CardExtractor:
    """The extractor named ``module:ClassName`` (one instance per process)."""
    found = _EXTRACTORS.get(spec)
    if found is None:
        module, _, name = spec.partition(":")
        target: Any = importlib.import_module(module)
        for part in name.split("."):
            target = getattr(target, part)
        found = _EXTRACTORS[spec] = target()
    return found


def extract_batch(batch: CardBatch) -> list[CardResult]:
    """Extract every card of the batch and derive its base-model edges. Runs on executor workers."""
    extractor = load_extractor(batch.extractor)
    results = []
    for task in batch.tasks:
        try:
            extraction = extractor.extract(task.text, model_id=task.model_id, api_tags=list(task.tags))
        except Exception as exc:  # one card an extractor cannot read must not lose the batch
            results.append(CardResult(task.pk, failure=f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}"))
            continue
        edges = edges_from_evidence(task.model_id, task.tags, task.card_data, extraction)
        results.append(CardResult(task.pk, dict(extraction.fields), list(extraction.errors), edges))
    return results


# --- the driver -------------------------------------------------------------------------------------------


@dataclass
class CardSummary:
    run_id: int
    models: int = 0  # stored models with a card
    up_to_date: int = 0
    extracted: int = 0
    failed: int = 0
    fields: int = 0  # card_metadata rows written by the deterministic extractor
    edges: int = 0
    edges_linked: int = 0  # edges written earlier whose parent is now stored and was linked
    llm_cards: int = 0  # cards the LLM answered for
    llm_fields: int = 0  # values it gave at or above the threshold
    review_queued: int = 0  # values below it, waiting in card_review
    llm_unreachable: int = 0  # cards left deterministic because the endpoint could not be used
    llm_errors: int = 0  # cards whose LLM answer was refused or unusable
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    llm_unavailable: str | None = None
    problems: list[tuple[str, str]] = field(default_factory=list)  # (model id, reason)

    def counts(self) -> dict[str, Any]:
        out: dict[str, Any] = {k: v for k, v in asdict(self).items() if isinstance(v, int | float)
                               and k != "run_id"}
        out["cost_usd"] = round(self.cost_usd, 6)
        if self.llm_unavailable:
            out["llm_unavailable"] = self.llm_unavailable
        return out

    def line(self) -> str:
        text = (f"cards: {self.extracted} extracted, {self.up_to_date} up to date, {self.failed} failed "
                f"of {self.models}; {self.fields} field values, {self.edges} base-model edges")
        if self.llm_cards or self.llm_unreachable or self.llm_errors:
            text += (f"; LLM: {self.llm_cards} cards, {self.llm_fields} values, {self.review_queued} to review, "
                     f"{self.tokens_in + self.tokens_out} tokens, ${self.cost_usd:.4f}")
            if self.llm_unreachable:
                text += f", {self.llm_unreachable} cards without it (endpoint not usable)"
            if self.llm_errors:
                text += f", {self.llm_errors} unusable answers"
        return text


def _text_key(text: str) -> str:
    return "text:" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:40]


def _card_key(card_sha: str | None, text: str) -> str:
    return card_sha if card_sha else _text_key(text)


def _up_to_date(state: ExtractionState | None, card_key: str, base_version: str, full_version: str,
                with_llm: bool) -> bool:
    if state is None or state.card_sha != card_key:
        return False
    if with_llm:
        return state.extractor_version == full_version[:64]
    return state.extractor_version.split("+", 1)[0] == base_version[:64]


def extractor_version(extractor: CardExtractor) -> str:
    version = getattr(extractor, "version", None) or __version__
    return f"{extractor.name}-{version}".replace("+", ".")


def _rows(fields: dict[str, FieldValue], *, llm: bool) -> list[MetadataRow]:
    return [MetadataRow(name, fv.value, fv.extractor, fv.confidence) for name, fv in sorted(fields.items())
            if fv.extractor.startswith(LLM_PREFIX) == llm]


def extract_all(store: Store, settings: Settings, *, llm: LlmSettings | None = None, executor: Executor | None = None,
                advance: Progress | None = None, extractor: CardExtractor | None = None,
                batch_cards: int = BATCH_CARDS, round_cards: int = ROUND_CARDS, force: bool = False,
                llm_extractor: LlmExtractor | None = None) -> CardSummary:
    """Extract every stored card not extracted yet with these extractors (all of them with ``force``).

    ``extractor`` defaults to the deterministic extractor; it must be constructible with no arguments
    in a worker (its class is named, not pickled). With ``llm`` (or a ready ``llm_extractor``), fields
    the deterministic extractor left empty or uncertain are asked of the LLM; an endpoint that cannot
    be used is reported once and the run goes on without it. ``advance(n)`` hears of models done."""
    if extractor is None:
        extractor = load_extractor(DEFAULT_EXTRACTOR)
    spec = extractor_spec(extractor)
    base_version = extractor_version(extractor)
    own_llm = llm_extractor is None and llm is not None
    helper = LlmExtractor(llm, settings) if own_llm and llm is not None else llm_extractor
    full_version = f"{base_version}+{helper.version}" if helper is not None else base_version
    params: dict[str, Any] = {"extractor": spec, "version": full_version, "batch_cards": batch_cards, "force": force,
                              "executor": type(executor).__name__ if executor else None}
    if helper is not None:
        params["llm"] = {"url": helper.llm.url, "model": helper.llm.model, "threshold": helper.llm.threshold,
                         "uncertain_below": helper.llm.uncertain_below, "fields": list(helper.fields)}
    run_id = store.start_run(STAGE, "store", params, versions={"ptmscope": __version__, "extractor": full_version})
    summary = CardSummary(run_id)
    try:
        with store.recording(run_id, summary.counts):
            _extract(store, spec, base_version, full_version, helper, executor, advance, summary, batch_cards,
                     round_cards, force)
            summary.llm_unavailable = helper.unavailable if helper is not None else None
    finally:
        if own_llm and helper is not None:
            helper.close()
    return summary


def _candidates(conn: Connection) -> list[Any]:
    return list(conn.execute(select(M.c.id, M.c.card_sha).where(M.c.card_text.is_not(None), M.c.card_text != "")
                             .order_by(M.c.id)))


def _extract(store: Store, spec: str, base_version: str, full_version: str, helper: LlmExtractor | None,
             executor: Executor | None, advance: Progress | None, summary: CardSummary, batch_cards: int,
             round_cards: int, force: bool) -> None:
    def done(n: int) -> None:
        if advance is not None and n:
            advance(n)

    with store.engine.connect() as conn:
        candidates = _candidates(conn)
        states = store_cards.extraction_states(conn, [row.id for row in candidates])
    summary.models = len(candidates)
    todo: list[int] = []
    for row in candidates:
        # A card without a hub sha is compared by its text, which is read with the round.
        if not force and row.card_sha and _up_to_date(states.get(row.id), row.card_sha, base_version, full_version,
                                                      helper is not None):
            summary.up_to_date += 1
        else:
            todo.append(row.id)
    done(summary.up_to_date)
    pool = ThreadPoolExecutor(max_workers=helper.llm.concurrency, thread_name_prefix="ptmscope-llm") \
        if helper is not None else None
    try:
        for part in chunks(todo, round_cards):
            with store.engine.connect() as conn:
                rows = conn.execute(select(M.c.id, M.c.hub, M.c.model_id, M.c.card_sha, M.c.card_text, M.c.tags,
                                           M.c.card_data).where(M.c.id.in_(list(part))).order_by(M.c.id)).all()
            tasks: list[CardTask] = []
            info: dict[int, tuple[str, str, str]] = {}  # pk -> (hub, model id, card key)
            for row in rows:
                key = _card_key(row.card_sha, row.card_text)
                if not force and _up_to_date(states.get(row.id), key, base_version, full_version, helper is not None):
                    summary.up_to_date += 1
                    done(1)
                    continue
                tags = tuple(t for t in (row.tags or ()) if isinstance(t, str))
                card_data = row.card_data if isinstance(row.card_data, dict) else None
                tasks.append(CardTask(row.id, row.model_id, row.card_text, tags, card_data))
                info[row.id] = (row.hub, row.model_id, key)
            texts = {t.pk: t.text for t in tasks}
            batches = [CardBatch(spec, tuple(chunk)) for chunk in chunks(tasks, batch_cards)]
            results: Iterable[list[CardResult]] = (executor.map(extract_batch, batches) if executor is not None
                                                   else map(extract_batch, batches))
            for batch_results in results:
                outcomes = _ask_llm(helper, pool, batch_results, texts, info)
                _write(store, batch_results, outcomes, info, states, base_version, full_version, helper, summary)
                done(len(batch_results))
        with store.engine.begin() as conn:
            summary.edges_linked = store_cards.resolve_dangling_edges(conn)
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def _ask_llm(helper: LlmExtractor | None, pool: ThreadPoolExecutor | None, results: Sequence[CardResult],
             texts: dict[int, str], info: dict[int, tuple[str, str, str]]) -> dict[int, LlmOutcome]:
    if helper is None or pool is None:
        return {}
    asking = [r for r in results if r.failure is None]

    def one(result: CardResult) -> LlmOutcome:
        return helper.fill(texts[result.pk], Extraction(result.fields, result.errors), model_id=info[result.pk][1])

    return {r.pk: outcome for r, outcome in zip(asking, pool.map(one, asking), strict=True)}


def _write(store: Store, results: Sequence[CardResult], outcomes: dict[int, LlmOutcome],
           info: dict[int, tuple[str, str, str]], states: dict[int, ExtractionState], base_version: str,
           full_version: str, helper: LlmExtractor | None, summary: CardSummary) -> None:
    """One batch's results in one transaction, a few statements for the whole batch."""
    failures: list[tuple[str, str]] = []
    extractions: list[dict[str, Any]] = []
    deterministic: dict[int, list[MetadataRow]] = {}
    edges: list[tuple[int, str, str, Sequence[EdgeRow]]] = []
    llm_rows: dict[int, list[MetadataRow]] = {}
    reviews: dict[int, list[ReviewRow]] = {}
    stale: list[int] = []  # changed cards the LLM did not read again: what it said before goes
    for result in results:
        hub, model_id, key = info[result.pk]
        state = states.get(result.pk)
        if result.failure is not None:
            summary.failed += 1
            failures.append((model_id, result.failure))
            # Recorded with the version: the same card and extractor would fail the same way again.
            extractions.append({"model": result.pk, "card_sha": key, "extractor_version": base_version,
                                "error": f"extractor failed: {result.failure}"})
            continue
        summary.extracted += 1
        deterministic[result.pk] = _rows(result.fields, llm=False)
        edges.append((result.pk, model_id, hub, result.edges))
        errors = list(result.errors)
        row: dict[str, Any] = {"model": result.pk, "card_sha": key, "extractor_version": base_version}
        outcome = outcomes.get(result.pk)
        used = outcome is not None and not outcome.unreachable and outcome.error is None
        if outcome is not None and helper is not None:
            if outcome.error:
                errors.append(outcome.error)
            summary.llm_unreachable += outcome.unreachable
            summary.llm_errors += bool(outcome.error) and not outcome.unreachable
            if outcome.called:
                summary.llm_cards += 1
                row.update(tokens_in=outcome.tokens_in, tokens_out=outcome.tokens_out, cost_usd=outcome.cost_usd)
                summary.tokens_in += outcome.tokens_in
                summary.tokens_out += outcome.tokens_out
                summary.cost_usd += outcome.cost_usd
            if used:
                row.update(extractor_version=full_version, llm_model=helper.llm.model)
                llm_rows[result.pk] = [MetadataRow(n, fv.value, fv.extractor, fv.confidence)
                                       for n, fv in sorted(outcome.accepted.items())]
                reviews[result.pk] = [ReviewRow(n, fv.value, fv.extractor, fv.confidence, fv.evidence)
                                      for n, fv in sorted(outcome.review.items())]
        if not used:
            if state is None or state.card_sha != key:
                stale.append(result.pk)
            else:
                row["llm_model"] = state.llm_model  # its earlier values stand, and say whose they are
        row["error"] = "; ".join(errors)[:_ERROR_MAX] or None
        extractions.append(row)
    with store.engine.begin() as conn:
        summary.fields += store_cards.replace_metadata_many(conn, "deterministic", deterministic)
        summary.edges += store_cards.replace_edges_many(conn, edges)
        summary.llm_fields += store_cards.replace_metadata_many(conn, "llm", llm_rows)
        for pk, items in reviews.items():
            summary.review_queued += store_cards.queue_reviews(conn, pk, LLM_PREFIX, items)
        store_cards.replace_metadata_many(conn, "llm", {pk: [] for pk in stale})
        store_cards.drop_pending_reviews(conn, stale, LLM_PREFIX)
        store_cards.upsert_extractions(conn, extractions)
    for model_id, reason in failures:
        summary.problems.append((model_id, reason))
        store.record_failure(summary.run_id, STAGE, model_id, reason)
