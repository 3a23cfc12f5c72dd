"""``ptmscope cards``: extract card metadata from files or every stored card, score an extractor against
labelled cards, and work through the review queue of uncertain LLM answers."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Any

import orjson
import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select

from ..cards.llm import AssistedExtractor, LlmExtractor, LlmSettings, llm_settings
from ..cards.schema import CardExtractor, Extraction
from ..errors import UsageError
from ..runtime.executors import DaskExecutor, Executor, LocalExecutor
from ..runtime.progress import progress_bar
from ..store import cards as store_cards
from ..store import schema
from .context import state

app = typer.Typer(help="Model-card metadata: extract, evaluate, review.", no_args_is_help=True)


class Format(StrEnum):
    table = "table"
    json = "json"


_LLM_HELP = "Ask an OpenAI-compatible LLM for the fields the deterministic extractor left empty or uncertain."


def _llm(env: Mapping[str, str], enabled: bool, url: str | None, model: str | None,
         threshold: float | None) -> LlmSettings | None:
    if not enabled:
        given = [name for name, value in (("--llm-url", url), ("--llm-model", model), ("--llm-threshold", threshold))
                 if value is not None]
        if given:
            raise UsageError(f"{', '.join(given)} need --llm")
        return None
    try:
        # The key comes from the environment only, never from the command line (shell history, ps).
        return llm_settings(env, url=url, model=model, threshold=threshold)
    except ValueError as exc:
        raise UsageError(f"--llm: {exc}") from None


def _deterministic() -> CardExtractor:
    from ..cards.extract import DeterministicExtractor

    return DeterministicExtractor()


def _read_card(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8", errors="replace")
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None


def _write_line(document: dict[str, Any]) -> None:
    sys.stdout.buffer.write(orjson.dumps(document, option=orjson.OPT_NON_STR_KEYS) + b"\n")
    sys.stdout.buffer.flush()


def _render_extraction(console: Console, source: str, extraction: Extraction) -> None:
    table = Table(title=source, title_justify="left", show_lines=False)
    for column in ("Field", "Value", "Extractor", "Confidence"):
        table.add_column(column, overflow="fold")
    for name, found in extraction.fields.items():
        value = found.value if isinstance(found.value, str) else orjson.dumps(found.value).decode()
        table.add_row(name, value[:300], found.extractor, f"{found.confidence:.2f}")
    console.print(table)
    for error in extraction.errors:
        console.print(f"  [yellow]problem:[/] {error}", highlight=False)


def _executor(dask: str | None, workers: int | None) -> Executor:
    return DaskExecutor(dask, workers=workers) if dask else LocalExecutor(workers)


@app.command()
def extract(
    ctx: typer.Context,
    files: list[Path] | None = typer.Argument(None, help="Model card files (README.md) to read, without the store."),
    all_: bool = typer.Option(False, "--all", help="Every card in the store; values are stored."),
    fmt: Format = typer.Option(Format.json, "--format", "-f",
                               help="json: one object per line for FILEs; for --all, the run's counts."),
    llm: bool = typer.Option(False, "--llm", help=_LLM_HELP),
    llm_url: str | None = typer.Option(None, "--llm-url", metavar="URL",
                                       help="API base, e.g. http://127.0.0.1:8080/v1 (env PTMSCOPE_LLM_URL)."),
    llm_model: str | None = typer.Option(None, "--llm-model", metavar="NAME",
                                         help="Model name (env PTMSCOPE_LLM_MODEL). Key: env PTMSCOPE_LLM_API_KEY "
                                              "or OPENAI_API_KEY."),
    llm_threshold: float | None = typer.Option(None, "--llm-threshold", min=0.0, max=1.0,
                                               help="LLM answers less confident than this go to the review queue "
                                                    "(default 0.7)."),
    force: bool = typer.Option(False, "--force", help="With --all: extract cards already up to date too."),
    dask: str | None = typer.Option(None, "--dask", metavar="ADDRESS",
                                    help="With --all: run on a Dask cluster (its scheduler, or 'local')."),
    workers: int | None = typer.Option(None, "--workers", min=1, help="With --all: parallel workers."),
) -> None:
    """Extract structured metadata (license, datasets, base models, evaluation, ...) from model cards."""
    if bool(files) == all_:
        raise UsageError("give card files to read, or --all for every card in the store (not both)")
    if not all_ and (force or dask or workers):
        raise UsageError("--force, --dask and --workers go with --all")
    app_state = state(ctx)
    settings = _llm(app_state.settings.llm_env, llm, llm_url, llm_model, llm_threshold)
    if files:
        missing = [str(p) for p in files if not p.is_file()]
        if missing:
            raise UsageError(f"not a file: {', '.join(missing)}")
        _extract_files(files, fmt, settings, app_state.settings)
        return
    from ..cards.run import extract_all

    store = app_state.store()
    with store.engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(schema.model).where(
            schema.model.c.card_text.is_not(None), schema.model.c.card_text != "")).scalar_one()
    with _executor(dask, workers) as executor, \
            progress_bar("Extracting model cards", total=total, enabled=not app_state.quiet) as advance:
        summary = extract_all(store, app_state.settings, llm=settings, executor=executor, advance=advance,
                              force=force)
    if fmt is Format.json:
        _write_line({"run_id": summary.run_id, **summary.counts(),
                     "problems": [{"model": m, "reason": r} for m, r in summary.problems]})
        return
    typer.echo(summary.line())
    for model_id, reason in summary.problems[:20]:
        typer.echo(f"  failed {model_id}: {reason}", err=True)


def _extract_files(files: list[Path], fmt: Format, llm: LlmSettings | None, app_settings: Any) -> None:
    base = _deterministic()
    helper = LlmExtractor(llm, app_settings) if llm is not None else None
    extractor: CardExtractor = AssistedExtractor(base, helper) if helper is not None else base
    console = Console()
    try:
        for path in files:
            extraction = extractor.extract(_read_card(path))
            if fmt is Format.json:
                _write_line({"source": str(path), "metadata": extraction.metadata(), "errors": extraction.errors})
            else:
                _render_extraction(console, str(path), extraction)
    finally:
        if helper is not None:
            helper.close()
    if isinstance(extractor, AssistedExtractor):
        t = extractor.totals
        typer.echo(f"LLM: {t.called} of {t.cards} cards, {t.tokens_in + t.tokens_out} tokens, ${t.cost_usd:.4f}, "
                   f"{t.review} answers below the threshold left out", err=True)


@app.command("eval")
def eval_(
    ctx: typer.Context,
    labels: Path = typer.Option(..., "--labels", help="A labels file (JSON) or a folder of them."),
    cards: Path = typer.Option(..., "--cards", help="The folder holding the labelled card files."),
    fmt: Format = typer.Option(Format.table, "--format", "-f"),
    llm: bool = typer.Option(False, "--llm", help=_LLM_HELP),
    llm_url: str | None = typer.Option(None, "--llm-url", metavar="URL"),
    llm_model: str | None = typer.Option(None, "--llm-model", metavar="NAME"),
    llm_threshold: float | None = typer.Option(None, "--llm-threshold", min=0.0, max=1.0),
) -> None:
    """Score the extractor against labelled cards: per field precision, recall and exact-match accuracy."""
    if not labels.exists():
        raise UsageError(f"no labels at {labels}")
    if not cards.is_dir():
        raise UsageError(f"not a folder of cards: {cards}")
    settings = _llm(state(ctx).settings.llm_env, llm, llm_url, llm_model, llm_threshold)
    from ..cards.evaluate import evaluate_extractor, load_labels
    try:
        labelled = load_labels(labels)
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read labels from {labels}: {exc}") from None
    base = _deterministic()
    helper = LlmExtractor(settings, state(ctx).settings) if settings is not None else None
    extractor: CardExtractor = AssistedExtractor(base, helper) if helper is not None else base
    try:
        report = evaluate_extractor(extractor, labelled, cards)
    finally:
        if helper is not None:
            helper.close()
    _emit(report.to_json() if fmt is Format.json else report.to_table())
    if isinstance(extractor, AssistedExtractor):
        t = extractor.totals
        typer.echo(f"LLM: {t.called} of {t.cards} cards, {t.tokens_in:,} tokens in, {t.tokens_out:,} out, "
                   f"${t.cost_usd:.4f} (${t.cost_usd / max(1, t.cards):.5f} a card)", err=True)


def _emit(rendered: object) -> None:
    """Print what a report renders to: text, bytes, a JSON-able value or a rich renderable."""
    if isinstance(rendered, bytes):
        sys.stdout.buffer.write(rendered if rendered.endswith(b"\n") else rendered + b"\n")
        sys.stdout.buffer.flush()
    elif isinstance(rendered, str):
        typer.echo(rendered.rstrip("\n"))
    elif isinstance(rendered, dict | list):
        typer.echo(orjson.dumps(rendered, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS).decode())
    else:
        Console().print(rendered)


def _parse_value(text: str) -> Any:
    """A reviewer's value: JSON when it parses (lists, numbers, null), else the text itself."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return text


@app.command()
def review(
    ctx: typer.Context,
    list_: bool = typer.Option(False, "--list", help="List the items waiting for review (the default)."),
    accept: int | None = typer.Option(None, "--accept", metavar="ID", help="Accept an item's proposed value."),
    reject: int | None = typer.Option(None, "--reject", metavar="ID", help="Reject an item."),
    set_: tuple[int, str] | None = typer.Option(None, "--set", metavar="ID VALUE",
                                                help="Accept an item with this value instead (JSON, or text)."),
    status: str = typer.Option("pending", "--status", help="With --list: pending, accepted, rejected or all."),
    limit: int = typer.Option(100, "--limit", min=1, help="With --list: at most this many items."),
    fmt: Format = typer.Option(Format.table, "--format", "-f"),
) -> None:
    """The review queue: LLM answers below the confidence threshold, waiting for a person."""
    actions = [a for a in (accept, reject, set_) if a is not None]
    if len(actions) > 1 or (actions and list_):
        raise UsageError("give one of --list, --accept, --reject, --set")
    if status not in ("pending", "accepted", "rejected", "all"):
        raise UsageError("--status: pending, accepted, rejected or all")
    store = state(ctx).store()
    if not actions:
        with store.engine.connect() as conn:
            items = store_cards.list_reviews(conn, None if status == "all" else status, limit)
            counts = dict(store_cards.review_counts(conn))
        _show_reviews(items, counts, fmt)
        return
    with store.engine.begin() as conn:
        if set_ is not None:
            item = store_cards.resolve_review(conn, set_[0], True, _parse_value(set_[1]))
            wanted = set_[0]
        else:
            wanted = accept if accept is not None else int(reject or 0)
            item = store_cards.resolve_review(conn, wanted, reject is None)
    if item is None:
        raise UsageError(f"no review item {wanted}")
    value = item.reviewer_value if item.reviewer_value is not None else item.value
    if fmt is Format.json:
        _write_line(_review_dict(item))
    else:
        shown = value if isinstance(value, str) else orjson.dumps(value).decode()
        typer.echo(f"{item.status} #{item.id}: {item.model_id} {item.field} = {shown}")


def _review_dict(item: store_cards.ReviewItem) -> dict[str, Any]:
    return {"id": item.id, "model": item.model_id, "field": item.field, "value": item.value,
            "extractor": item.extractor, "confidence": item.confidence, "evidence": item.evidence,
            "status": item.status, "reviewer_value": item.reviewer_value}


def _show_reviews(items: list[store_cards.ReviewItem], counts: dict[str, int], fmt: Format) -> None:
    if fmt is Format.json:
        _write_line({"items": [_review_dict(i) for i in items], "counts": counts})
        return
    console = Console()
    table = Table(title=f"Card review queue ({counts.get('pending', 0)} pending, {counts.get('accepted', 0)} "
                        f"accepted, {counts.get('rejected', 0)} rejected)")
    for column in ("ID", "Model", "Field", "Value", "Confidence", "Extractor", "Evidence", "Status"):
        table.add_column(column, overflow="fold", justify="right" if column in ("ID", "Confidence") else "left")
    for i in items:
        value = i.value if isinstance(i.value, str) else orjson.dumps(i.value).decode()
        table.add_row(str(i.id), i.model_id, i.field, value[:200],
                      f"{i.confidence:.2f}" if i.confidence is not None else "", i.extractor,
                      (i.evidence or "")[:120], i.status)
    console.print(table)
