"""The `winter-days` command line.

Each area owns its commands in its own module; this file only names them, and imports a
command's module when that command runs, so `winter-days --help` stays fast and one
area's import cost is never paid by another's command.
"""

from __future__ import annotations

import importlib
import sys

import click

from winter_days import __version__
from winter_days.config import ConfigError, load_settings


class LazyGroup(click.Group):
    """A group whose subcommands live in other modules, given as 'module:attribute'."""

    def __init__(self, *args, lazy: dict[str, str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self.lazy))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.lazy:
            module_name, attribute = self.lazy[name].split(":")
            return getattr(importlib.import_module(module_name), attribute)
        return super().get_command(ctx, name)


@click.group(
    cls=LazyGroup,
    lazy={
        "generate": "winter_days.generators.cli:generate",
        "elt": "winter_days.elt.cli:elt",
        "ml": "winter_days.ml.cli:ml",
        "schedule": "winter_days.schedule_cli:schedule_command",
        "serve": "winter_days.orchestrator.cli:serve",
        "run": "winter_days.orchestrator.cli:run",
        "demo": "winter_days.demo_cli:demo_command",
        "backfill": "winter_days.demo_cli:backfill_command",
    },
)
@click.version_option(__version__, prog_name="winter-days")
@click.option("--profile", type=str, default=None, help="Settings profile: local (default) or gcp.")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="TOML settings file (default: $WINTER_DAYS_CONFIG, else ./winter-days.toml if present).",
)
@click.pass_context
def main(ctx: click.Context, profile: str | None, config_path: str | None) -> None:
    """winter-days: sales, clickstream and startup flows, from generators to a churn model."""
    overrides = {"profile": profile} if profile else {}
    try:
        ctx.obj = load_settings(config_path=config_path, overrides=overrides)
    except ConfigError as err:
        raise click.UsageError(str(err)) from None


def run() -> None:  # pragma: no cover - console entry for `python -m winter_days`
    sys.exit(main())
