"""`winter-days ml ...`: compile the KFP spec, run the churn pipeline."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import click

from winter_days.config import ConfigError
from winter_days.platform import Platform


@click.group()
def ml() -> None:
    """The customer-churn pipeline: features, training, gated registry, predictions."""


@ml.command("compile")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("customer_churn_pipeline.json"), show_default=True, help="Where to write the spec.")
@click.option("--image", default=None, help="Container image of the components (default: the vertex.image setting, "
              "else winter-days:<version>).")
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


@ml.command("run")
@click.option("--as-of", "as_of", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Scoring date YYYY-MM-DD; no data after it is read (default: the last day with sales).")
@click.option("--runner", type=click.Choice(["in-process", "kfp-local"]), default=None,
              help="Run the steps here, or the compiled spec on KFP's local runner (needs the [gcp] extra); "
              "default: the profile's runner (in-process locally, Vertex AI on gcp).")
@click.option("--auc-floor", type=click.FloatRange(0.0, 1.0), default=None,
              help="A model at or below this ROC AUC never becomes champion (default 0.6).")
@click.option("--auc-tolerance", type=click.FloatRange(0.0, 1.0), default=None,
              help="How far below the champion's AUC a new model may be and still replace it (default 0.005).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_obj
def run_command(platform: Platform, as_of, runner: str | None, auc_floor, auc_tolerance, as_json: bool) -> None:
    """Train, evaluate, gate and register a churn model, then score every active customer."""
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
    as_of_date: date | None = as_of.date() if as_of else None
    progress = None if as_json else (lambda message: click.echo(message, err=True))
    try:
        result = run_churn_pipeline(platform, as_of_date, runner, options, progress)
    except (FeatureError, TrainingDataError, EvaluationError, RegistryError, PredictionError,
            KfpUnavailableError, VertexJobError, VertexSubmitError, VertexUnavailableError, ConfigError) as err:
        raise click.ClickException(str(err)) from None
    if as_json:
        click.echo(json.dumps(result, indent=2, sort_keys=True, default=str))
        return
    candidate, baseline = result["metrics"]["candidate"], result["metrics"]["baseline"]
    click.echo(f"model version {result['version']} (as of {result['as_of']}, evaluated on {result['eval_date']})")
    click.echo(f"  candidate ROC AUC {candidate['roc_auc']:.4f}  PR AUC {candidate['pr_auc']:.4f}  "
               f"Brier {candidate['brier']:.4f}  top-decile lift {candidate['top_decile_lift']:.2f}")
    click.echo(f"  baseline  ROC AUC {baseline['roc_auc']:.4f}  PR AUC {baseline['pr_auc']:.4f}")
    click.echo(f"  {'promoted to champion' if result['promoted'] else 'kept as challenger'}: {result['reason']}")
    click.echo(f"  {result['predictions_written']} predictions by champion {result['champion']} "
               f"({', '.join(f'{k} {v}' for k, v in sorted(result['risk_tiers'].items()))})")


@ml.command("models")
@click.pass_obj
def models_command(platform: Platform) -> None:
    """List registered churn model versions with their AUC and aliases."""
    from winter_days.ml.registry import Registry

    registry = Registry(platform.lake)
    aliases = {entry["version"]: name for name, entry in registry.aliases()["aliases"].items()}
    versions = registry.versions()
    if not versions:
        click.echo("no churn model versions registered yet: run `winter-days ml run`")
    for version in versions:
        manifest = registry.get_version(version).manifest
        click.echo(f"{version}  ROC AUC {manifest['metrics']['candidate']['roc_auc']:.4f}  as of {manifest['as_of']}"
                   f"{'  [' + aliases[version] + ']' if version in aliases else ''}")


@ml.command("promote")
@click.argument("version")
@click.option("--reason", required=True, help="Why this version should score customers (kept in the history).")
@click.pass_obj
def promote_command(platform: Platform, version: str, reason: str) -> None:
    """Make VERSION the champion by hand, bypassing the AUC gate."""
    from winter_days.ml.registry import Registry, RegistryError

    try:
        decision = Registry(platform.lake).promote(version, reason)
    except RegistryError as err:
        raise click.ClickException(str(err)) from None
    click.echo(f"{version} is champion (was {decision['champion_version'] or 'none'})")
