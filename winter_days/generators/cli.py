"""`winter-days generate sales|clickstream|startups`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Literal

import click

from winter_days.generators.customers import pool_from_settings
from winter_days.generators.jobs import Progress, write_clickstream, write_sales, write_startups
from winter_days.platform import Platform
from winter_days.stores.lake import LakeImmutableError

PROGRESS_FROM = 100_000  # counts at least this large show a progress bar


def _platform(ctx: click.Context) -> Platform:
    """The platform the root command built (or, for this group used on its own, one from the settings)."""
    if ctx.obj is None:
        from winter_days.config import load_settings
        from winter_days.platform import build_platform

        ctx.obj = build_platform(load_settings())
    platform: Platform = ctx.obj
    return platform


def _day(value: str | None) -> date:
    if value is None:
        return datetime.now(UTC).date()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date YYYY-MM-DD", param_hint="--date") from None


@contextmanager
def _progress(label: str, total: int | None) -> Iterator[Progress | None]:
    if total is None or total < PROGRESS_FROM:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn
    from rich.progress import Progress as Bar

    with Bar(TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)


def _common(func):
    func = click.option("--seed", type=int, default=None, help="Seed of the simulated world (default: settings seed).")(
        func
    )
    func = click.option(
        "--date", "day", type=str, default=None, help="Simulated day YYYY-MM-DD (default: today, UTC)."
    )(func)
    return func


def _count_option(default_text: str):
    return click.option(
        "--count", type=click.IntRange(min=0), default=None, help=f"Records to generate (default: {default_text})."
    )


@click.group()
def generate() -> None:
    """Generate a simulated day of the sales, clickstream or startup flow."""


@generate.command()
@_count_option("a random 5-20")
@_common
@click.pass_context
def sales(ctx: click.Context, count: int | None, day: str | None, seed: int | None) -> None:
    """Upsert the day's sales documents and write the day's churn ground truth."""
    from winter_days.generators.ground_truth import GroundTruthConflict

    platform = _platform(ctx)
    settings = platform.settings
    when = _day(day)
    pool = pool_from_settings(settings, platform.pseudonymiser, seed)
    store = platform.document_store()
    try:
        with _progress("sales", count) as progress:
            run = write_sales(
                store,
                platform.lake,
                pool,
                when,
                count,
                settings.legacy_timestamp_share,
                settings.churn_horizon_days,
                progress,
            )
    except GroundTruthConflict as err:
        raise click.ClickException(str(err)) from None
    finally:
        store.close()
    click.echo(
        f"sales {when}: {run.documents} documents upserted into collection {run.collection} "
        f"({run.legacy_documents} with a legacy sale_timestamp) in {store.describe()}"
    )
    click.echo(f"churn ground truth ({pool.size} customers): {platform.lake.uri(run.ground_truth_key)}")


@generate.command()
@_count_option("1000")
@_common
@click.pass_context
def clickstream(ctx: click.Context, count: int | None, day: str | None, seed: int | None) -> None:
    """Write the day's clickstream events as one JSON Lines file in the bronze lake."""
    from winter_days.generators.clickstream import DEFAULT_EVENTS

    platform = _platform(ctx)
    when = _day(day)
    total = DEFAULT_EVENTS if count is None else count
    with _progress("clickstream", total) as progress:
        try:
            run = write_clickstream(
                platform.lake,
                pool_from_settings(platform.settings, platform.pseudonymiser, seed),
                when,
                total,
                progress,
            )
        except LakeImmutableError as err:
            raise click.ClickException(f"{err} (the day was generated before with another --count or --seed)") from None
    click.echo(f"clickstream {when}: {run.records} events written to {run.uri}")


@generate.command()
@_count_option("100, the registry size at population_start")
@_common
@click.option(
    "--load-type",
    type=click.Choice(["auto", "full", "delta"]),
    default="auto",
    show_default=True,
    help="auto: full if the lake has no earlier startup load, else a delta against the latest one.",
)
@click.pass_context
def startups(
    ctx: click.Context,
    count: int | None,
    day: str | None,
    seed: int | None,
    load_type: Literal["auto", "full", "delta"],
) -> None:
    """Write the day's startup load (full or delta) as JSON Lines in the bronze lake."""
    from winter_days.generators.startups import DEFAULT_STARTUPS

    platform = _platform(ctx)
    settings = platform.settings
    when = _day(day)
    size = DEFAULT_STARTUPS if count is None else count
    if size < 1:
        raise click.BadParameter("the startup registry needs at least 1 startup", param_hint="--count")
    try:
        run = write_startups(
            platform.lake,
            settings.seed if seed is None else seed,
            settings.population_start,
            when,
            size,
            load_type,
            pseudonyms=platform.pseudonymiser,
        )
    except (ValueError, LakeImmutableError) as err:
        raise click.ClickException(str(err)) from None
    since = f" (changes since {run.previous_load})" if run.previous_load else ""
    click.echo(f"startups {when}: {run.load_type} load{since}, {run.records} records written to {run.uri}")
