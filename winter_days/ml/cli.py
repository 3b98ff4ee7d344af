"""`winter-days ml ...`: compile the KFP spec; run (as the daily run does), train or score
the churn pipeline; list the registered models and promote one by hand."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import click

from winter_days.config import ConfigError
from winter_days.platform import Platform


@click.group()
def ml() -> None:
    """The customer-churn pipeline: features, training, gated registry, predictions."""


@ml.command("compile")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("customer_churn_pipeline.json"),
    show_default=True,
    help="Where to write the spec.",
)
@click.option(
    "--image",
    default=None,
    help="Container image of the components (default: the vertex.image setting, else winter-days:<version>).",
)
@click.pass_obj
def compile_command(platform: Platform, output: Path, image: str | None) -> None:
    """Write the KFP v2 pipeline spec that Vertex AI Pipelines takes."""
    from winter_days.ml.kfp_pipeline import (
        DEFAULT_IMAGE,
        KfpUnavailableError,
        compile_pipeline,
        execution_order,
        pipeline_dag,
    )

    try:
        path = compile_pipeline(output, image or platform.settings.vertex.image or DEFAULT_IMAGE)
    except KfpUnavailableError as err:
        raise click.ClickException(str(err)) from None
    order = execution_order(pipeline_dag(json.loads(path.read_text())))
    click.echo(f"wrote {path} ({len(order)} steps: {' -> '.join(order)})")


def _pipeline_options(gate: bool):
    """The options every pipeline command takes: as-of date, runner, JSON output (and the gate's)."""

    def decorate(func):
        func = click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")(func)
        if gate:
            func = click.option(
                "--auc-floor",
                type=click.FloatRange(0.0, 1.0),
                default=None,
                help="A model at or below this ROC AUC never becomes champion (default 0.6).",
            )(func)
            func = click.option(
                "--auc-tolerance",
                type=click.FloatRange(0.0, 1.0),
                default=None,
                help="How far below zero the confidence interval of the new model's AUC minus the champion's may "
                "reach for it to replace the champion (default 0: not worse at the confidence of the "
                "churn_promotion_confidence setting).",
            )(func)
        func = click.option(
            "--runner",
            type=click.Choice(["in-process", "kfp-local"]),
            default=None,
            help="Run the steps here, or the compiled spec on KFP's local runner (needs the [gcp] "
            "extra); default: the profile's runner (in-process locally, Vertex AI on gcp).",
        )(func)
        return click.option(
            "--as-of",
            "as_of",
            type=click.DateTime(formats=["%Y-%m-%d"]),
            default=None,
            help="Scoring date YYYY-MM-DD; no data after it is read (default: the last day with sales).",
        )(func)

    return decorate


def _run(
    platform: Platform, mode: str, as_of, runner: str | None, as_json: bool, auc_floor=None, auc_tolerance=None
) -> None:
    """Run the churn pipeline in `mode` and print what it did."""
    from dataclasses import replace

    from winter_days.ml import (
        EvaluationError,
        FeatureError,
        PipelineOptions,
        PredictionError,
        RegistryError,
        TrainingDataError,
        run_churn_pipeline,
    )
    from winter_days.ml.kfp_pipeline import KfpUnavailableError
    from winter_days.ml.vertex import VertexJobError, VertexSubmitError, VertexUnavailableError

    options = PipelineOptions()
    if auc_floor is not None:
        options = replace(options, auc_floor=auc_floor)
    if auc_tolerance is not None:
        options = replace(options, auc_tolerance=auc_tolerance)
    as_of_date: date | None = as_of.date() if isinstance(as_of, datetime) else as_of
    progress = None if as_json else (lambda message: click.echo(message, err=True))
    try:
        result = run_churn_pipeline(platform, as_of_date, runner, options, progress, mode)
    except (
        FeatureError,
        TrainingDataError,
        EvaluationError,
        RegistryError,
        PredictionError,
        KfpUnavailableError,
        VertexJobError,
        VertexSubmitError,
        VertexUnavailableError,
        ConfigError,
    ) as err:
        raise click.ClickException(str(err)) from None
    if as_json:
        click.echo(json.dumps(result, indent=2, sort_keys=True, default=str))
        return
    echo_result(result)


def echo_result(result: dict) -> None:
    """A run summary for people: what was trained and decided, and what was scored."""
    click.echo(f"as of {result['as_of']}: training {result['training']}")
    if result["trained"]:
        candidate, baseline = result["metrics"]["candidate"], result["metrics"]["baseline"]
        click.echo(
            f"  model version {result['version']} (evaluated on {result['eval_date']}, "
            f"{(result.get('calibration') or {}).get('method', 'no')} calibration)"
        )
        click.echo(
            f"  candidate ROC AUC {candidate['roc_auc']:.4f}  PR AUC {candidate['pr_auc']:.4f}  "
            f"Brier {candidate['brier']:.4f}  ECE {candidate['ece']:.4f}  "
            f"top-decile lift {candidate['top_decile_lift']:.2f}"
        )
        click.echo(f"  baseline  ROC AUC {baseline['roc_auc']:.4f}  PR AUC {baseline['pr_auc']:.4f}")
        click.echo(f"  {'promoted to champion' if result['promoted'] else 'kept as challenger'}: {result['reason']}")
    tiers = ", ".join(f"{k} {v}" for k, v in sorted(result["risk_tiers"].items()))
    click.echo(f"  scoring {result['scoring']}" + (f" ({tiers}; tiers on calibrated probabilities)" if tiers else ""))


@ml.command("run")
@_pipeline_options(gate=True)
@click.pass_obj
def run_command(platform: Platform, as_of, runner: str | None, auc_floor, auc_tolerance, as_json: bool) -> None:
    """What the daily run does: train when the history allows and training is due (the
    churn_train_every_days setting), gate and register; then score with the champion."""
    _run(platform, "auto", as_of, runner, as_json, auc_floor, auc_tolerance)


@ml.command("train")
@_pipeline_options(gate=True)
@click.pass_obj
def train_command(platform: Platform, as_of, runner: str | None, auc_floor, auc_tolerance, as_json: bool) -> None:
    """Train, calibrate, evaluate, gate and register a churn model now, then score with the champion."""
    _run(platform, "train", as_of, runner, as_json, auc_floor, auc_tolerance)


@ml.command("score")
@_pipeline_options(gate=False)
@click.pass_obj
def score_command(platform: Platform, as_of, runner: str | None, as_json: bool) -> None:
    """Score every active customer at the as-of date with the champion for that date (no training)."""
    _run(platform, "score", as_of, runner, as_json)


@ml.command("models")
@click.pass_obj
def models_command(platform: Platform) -> None:
    """List registered churn model versions with their AUC and aliases."""
    from winter_days.ml.registry import Registry

    registry = Registry(platform.lake)
    aliases = {entry["version"]: name for name, entry in registry.aliases()["aliases"].items()}
    versions = registry.versions()
    if not versions:
        click.echo("no churn model versions registered yet: run `winter-days ml train` once the history allows")
    for version in versions:
        manifest = registry.get_version(version).manifest
        click.echo(
            f"{version}  ROC AUC {manifest['metrics']['candidate']['roc_auc']:.4f}  as of {manifest['as_of']}"
            f"{'  [' + aliases[version] + ']' if version in aliases else ''}"
        )


@ml.command("promote")
@click.argument("version")
@click.option("--reason", required=True, help="Why this version should score customers (kept in the history).")
@click.option("--no-score", is_flag=True, help="Only move the alias; the next run scores with VERSION.")
@click.pass_obj
def promote_command(platform: Platform, version: str, reason: str, no_score: bool) -> None:
    """Make VERSION the champion by hand, bypassing the gate, then re-score the current as-of
    date with it, so the predictions the dashboards show are VERSION's at once."""
    from winter_days.ml.registry import Registry, RegistryError

    try:
        decision = Registry(platform.lake).promote(version, reason)
    except RegistryError as err:
        raise click.ClickException(str(err)) from None
    click.echo(f"{version} is champion (was {decision['champion_version'] or 'none'})")
    if not no_score:
        _run(platform, "score", None, None, False)
