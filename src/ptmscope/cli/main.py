"""Entry point: global options, logging, and turning errors into messages and exit codes.

Exit codes: 0 success; 1 findings at or above a threshold (audit/scan); 2 usage or input error;
3 a remote source could not be reached; 4 the store could not be opened or written; 130 interrupted.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape

from .. import __version__
from ..config import Settings
from ..errors import PtmscopeError
from . import audit as audit_cmd
from . import browse, clone, collect, db, demo, export, link, replay, rules, stats
from . import cards as cards_cmd
from . import report as report_cmd
from . import run as run_cmd
from . import scan as scan_cmd
from . import snapshot as snapshot_cmd
from . import usage as usage_cmd
from .context import AppState
from .licenses import licenses
from .lineage import lineage as lineage_cmd

app = typer.Typer(
    name="ptmscope",
    help="Map and security-assess the supply chain of pre-trained ML models.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(collect.app, name="collect")
app.add_typer(db.app, name="db")
app.add_typer(export.app, name="export")
app.add_typer(stats.app, name="stats")
app.add_typer(replay.app, name="replay")
app.add_typer(rules.app, name="rules")
app.command("demo")(demo.demo)
app.command("clone")(clone.clone)
app.command("link")(link.link)
app.command("scan")(scan_cmd.scan)
app.command("run")(run_cmd.run)
app.command("runs")(run_cmd.runs)
app.command("snapshot")(snapshot_cmd.snapshot)
app.command("audit")(audit_cmd.audit)
app.command("licenses")(licenses)
app.add_typer(cards_cmd.app, name="cards")
app.command("lineage")(lineage_cmd)
app.command("report")(report_cmd.report)
app.command("browse")(browse.browse)
app.command("usage")(usage_cmd.usage)

err = Console(stderr=True)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"ptmscope {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    db_url: str | None = typer.Option(None, "--db", help="Database URL (default: SQLite under --data-dir).",
                                      envvar="PTMSCOPE_DB", show_envvar=True),
    data_dir: Path | None = typer.Option(None, "--data-dir", help="Where ptmscope keeps its data.",
                                         envvar="PTMSCOPE_DATA_DIR", show_envvar=True),
    verbose: int = typer.Option(0, "--verbose", "-v", count=True, help="More logging (-vv for HTTP)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars; only errors and results."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    """Map and security-assess the supply chain of pre-trained ML models."""
    level = logging.WARNING if quiet or verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(message)s", handlers=[RichHandler(console=err, show_path=False)],
                        force=True)
    from huggingface_hub.utils import logging as hf_logging

    # huggingface_hub prints through a handler of its own; route it through ours instead.
    hf_logging.disable_propagation()
    hf_logging.get_logger().handlers.clear()
    hf_logging.enable_propagation()
    if verbose < 2:
        # The HTTP libraries log every request and retry; that belongs to -vv.
        for noisy in ("httpx", "httpx2", "httpcore", "huggingface_hub"):
            logging.getLogger(noisy).setLevel(logging.ERROR)
    settings = Settings.from_env().with_overrides(db_url=db_url, data_dir=data_dir)
    ctx.obj = AppState(settings=settings, quiet=quiet)


def _error(message: str) -> None:
    # One line whatever the terminal width (soft_wrap) and whatever line breaks a driver's message
    # carries (psycopg's have several); the message is text, not rich markup.
    line = " ".join(part.strip() for part in message.splitlines() if part.strip())
    err.print(f"[bold red]error:[/] {escape(line)}", highlight=False, soft_wrap=True)


def main(argv: list[str] | None = None) -> None:
    # Typer 0.29 vendors click as typer._click: its exceptions are not the `click` package's, so
    # catch them through typer's public names (TyperException is the base of every click error).
    try:
        result = app(args=argv, standalone_mode=False)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        err.print("aborted")
        sys.exit(130)
    except typer.TyperException as exc:
        # Bad options and arguments: a usage error (2), whatever click's own code for it.
        ctx = getattr(exc, "ctx", None)
        hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        _error(f"{exc.format_message()}{hint}")
        sys.exit(2)
    except PtmscopeError as exc:
        _error(str(exc))
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
    sys.exit(result if isinstance(result, int) else 0)


if __name__ == "__main__":
    main()
