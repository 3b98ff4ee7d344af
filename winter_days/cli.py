"""The `winter-days` command line.

Each area owns its commands in its own module; this file only names them, and imports a
command's module when that command runs, so `winter-days --help` stays fast and one
area's import cost is never paid by another's command.
"""

from __future__ import annotations

import importlib
import json
import sys

import click

from winter_days import __version__
from winter_days.config import ConfigError, load_settings, settings_reference
from winter_days.platform import Platform, build_platform


class LazyGroup(click.Group):
    """A group whose subcommands live in other modules, given as 'module:attribute'."""

    def __init__(self, *args, lazy: dict[str, str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self.lazy))

    def invoke(self, ctx: click.Context) -> object:
        # A setting or credential a command finds missing while it works is one line, not a traceback.
        try:
            return super().invoke(ctx)
        except ConfigError as err:
            raise click.ClickException(str(err)) from None

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
        "schedule": "winter_days.schedule.cli:schedule_command",
        "serve": "winter_days.service.cli:serve",
        "run": "winter_days.orchestrator.cli:run",
        "demo": "winter_days.demo.cli:demo_command",
        "backfill": "winter_days.demo.cli:backfill_command",
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
        # The platform builds its adapters on first use: `--help` and `settings` build none.
        ctx.obj = build_platform(load_settings(config_path=config_path, overrides=overrides))
    except ConfigError as err:
        raise click.UsageError(str(err)) from None
    ctx.call_on_close(ctx.obj.close)


@main.command("settings")
@click.option("--reference", is_flag=True, help="Every setting with its variable, default and meaning (Markdown).")
@click.pass_obj
def settings_command(platform: Platform, reference: bool) -> None:
    """Show the settings in effect (defaults, file, environment, flags); secrets masked."""
    if reference:
        click.echo(settings_reference(), nl=False)
        return
    shown = platform.settings.to_mapping()
    shown.setdefault("auth", {})["token"] = "set" if platform.settings.auth.token else "unset"
    click.echo(json.dumps(shown, indent=2))


def run() -> None:  # pragma: no cover - console entry for `python -m winter_days`
    sys.exit(main())
