"""``ptmscope replay``: run the local stand-in for the Hugging Face Hub API."""

from __future__ import annotations

from pathlib import Path

import typer

from ..errors import UsageError
from ..replay import FaultPlan, HubCorpus, HuggingFaceApp, ReplayServer
from ..replay.corpus import synthetic_hub

app = typer.Typer(help="Serve recorded or generated API responses on 127.0.0.1.", no_args_is_help=True)


@app.command()
def serve(
    fixtures: Path | None = typer.Option(None, help="A directory of recorded Hub responses "
                                         "(model_info/*.json and _index.json)."),
    synthetic: int = typer.Option(0, min=0, help="Serve this many generated models instead."),
    seed: int = typer.Option(0, help="Seed of the generated corpus."),
    port: int = typer.Option(0, min=0, max=65535, help="Port on 127.0.0.1 (0: any free port)."),
    fault_rate: float = typer.Option(0.0, min=0.0, max=1.0, help="Share of requests answered with a fault."),
    fault_kinds: str = typer.Option("429,500,503,drop", help="Comma-separated: 429, 500, 503, slow, drop."),
) -> None:
    """Serve a Hub corpus until interrupted; point HF_ENDPOINT at the printed URL."""
    if fixtures is not None and synthetic:
        raise UsageError("choose either --fixtures or --synthetic")
    if fixtures is not None:
        if not (fixtures / "model_info").is_dir():
            raise UsageError(f"{fixtures} has no model_info/ directory of recorded responses")
        corpus = HubCorpus.from_shared_fixtures(fixtures)
    elif synthetic:
        corpus = synthetic_hub(synthetic, seed, commits=True)
    else:
        raise UsageError("nothing to serve: pass --fixtures DIR or --synthetic N")
    faults = None
    if fault_rate > 0:
        try:
            faults = FaultPlan(rate=fault_rate, kinds=tuple(k.strip() for k in fault_kinds.split(",") if k.strip()))
        except ValueError as exc:
            raise UsageError(str(exc)) from exc
    try:
        server = ReplayServer(HuggingFaceApp(corpus), faults=faults, port=port)
    except OSError as exc:
        raise UsageError(f"cannot listen on 127.0.0.1:{port}: {exc.strerror}") from exc
    typer.echo(f"serving {len(corpus)} models at {server.url} (Ctrl-C to stop)")
    typer.echo(f"  export HF_ENDPOINT={server.url}")
    server.serve_forever()
