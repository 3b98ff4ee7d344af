"""The churn pipeline as a KFP v2 pipeline (the template Vertex AI Pipelines takes).

Each component is a lightweight Python component whose body imports `winter_days.ml.steps`
and calls one step, so the pipeline logic lives in one place and the container image only
needs the winter-days package. One pipeline serves every mode: its `mode` input (auto,
train, score; see ml/cadence.py) reaches build-features, which decides whether the run
trains; when it does not, the training components pass its summary on at once. kfp is part of the `[gcp]` extra and imported only here,
lazily: nothing else in the package imports it.
"""

# No `from __future__ import annotations` here: KFP reads the component signatures' types
# at runtime and takes the string "str" for an artifact type.
import contextlib
import json
import sys
import warnings
from pathlib import Path

from winter_days import __version__

PIPELINE_NAME = "customer-churn"
PIPELINE_FILE = "customer_churn_pipeline.json"
DEFAULT_IMAGE = f"winter-days:{__version__}"


class KfpUnavailableError(RuntimeError):
    """kfp is not installed (it comes with the [gcp] extra)."""


def _kfp():
    try:
        import kfp
        from kfp import compiler, dsl
    except ImportError:
        raise KfpUnavailableError(
            "the KFP pipeline needs the kfp package: pip install 'winter-days[gcp]' (kfp==2.17.3)"
        ) from None
    return kfp, compiler, dsl


# Component bodies: KFP ships each function's source to the container, so each one imports
# what it calls inside its body.
def build_features(settings_json: str, options_json: str, run_id: str, as_of: str, mode: str) -> str:
    from winter_days.ml.steps import component

    return component("build_features", settings_json, options_json, run_id, as_of, mode)


def train_models(settings_json: str, upstream: str) -> str:
    from winter_days.ml.steps import component

    return component("train_models", settings_json, upstream)


def evaluate_models(settings_json: str, upstream: str) -> str:
    from winter_days.ml.steps import component

    return component("evaluate_models", settings_json, upstream)


def register_model(settings_json: str, upstream: str) -> str:
    from winter_days.ml.steps import component

    return component("register_model", settings_json, upstream)


def gate_model(settings_json: str, upstream: str) -> str:
    from winter_days.ml.steps import component

    return component("gate_model", settings_json, upstream)


def predict_churn(settings_json: str, upstream: str) -> str:
    from winter_days.ml.steps import component

    return component("predict_churn", settings_json, upstream)


CHAINED_COMPONENTS = (train_models, evaluate_models, register_model, gate_model, predict_churn)


def build_pipeline(image: str = DEFAULT_IMAGE):
    """The KFP pipeline function: build-features, then each chained step on the previous output."""
    _, _, dsl = _kfp()

    def component(func):
        # The image already holds winter-days and kfp: no pip install at container start.
        return dsl.component(func, base_image=image, install_kfp_package=False)

    features_op = component(build_features)
    chained = [component(func) for func in CHAINED_COMPONENTS]

    @dsl.pipeline(name=PIPELINE_NAME, description="Churn: features, train, evaluate, register, gate, predict")
    def customer_churn(
        settings_json: str, options_json: str = "{}", run_id: str = "", as_of: str = "", mode: str = "auto"
    ) -> str:
        task = features_op(
            settings_json=settings_json, options_json=options_json, run_id=run_id, as_of=as_of, mode=mode
        )
        # The warehouse and registry change between runs: a cached step would be wrong.
        task.set_caching_options(False)
        for op in chained:
            task = op(settings_json=settings_json, upstream=task.output)
            task.set_caching_options(False)
        return task.output

    return customer_churn


def pipeline_spec_json(image: str = DEFAULT_IMAGE) -> bytes:
    """The compiled pipeline spec as JSON bytes, made in memory: the document KFP's compiler
    writes to a `.json` package path (sorted keys, two-space indent), without the file, so a
    submission from Cloud Run touches no local disk."""
    _kfp()
    from google.protobuf import json_format

    pipeline = build_pipeline(image)
    spec = json_format.MessageToDict(pipeline.pipeline_spec)
    if len(pipeline.platform_spec.platforms) > 0:
        raise ValueError("the churn pipeline uses platform-specific features, which its JSON spec cannot carry")
    return json.dumps(spec, indent=2, sort_keys=True).encode()


def compile_pipeline(path: str | Path, image: str = DEFAULT_IMAGE) -> Path:
    """Write the pipeline spec (JSON) to `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pipeline_spec_json(image))
    return path


def task_name(step: str) -> str:
    """The KFP task name of a step of steps.STEP_ORDER."""
    return step.replace("_", "-")


def pipeline_dag(spec: dict) -> dict[str, list[str]]:
    """Task name -> names of the tasks it depends on, from a compiled spec."""
    tasks = spec["root"]["dag"]["tasks"]
    return {name: sorted(task.get("dependentTasks", [])) for name, task in tasks.items()}


def execution_order(dag: dict[str, list[str]]) -> list[str]:
    """The tasks in an order that respects every dependency (ties by name)."""
    done: list[str] = []
    pending = dict(dag)
    while pending:
        ready = sorted(name for name, needs in pending.items() if set(needs) <= set(done))
        if not ready:
            raise ValueError(f"pipeline DAG has a cycle among {', '.join(sorted(pending))}")
        done.append(ready[0])
        del pending[ready[0]]
    return done


def run_local(spec_path: Path, pipeline_root: Path, arguments: dict[str, str]) -> str:
    """Run a compiled spec with KFP's local SubprocessRunner in this environment; returns
    the last step's output."""
    kfp, _, _ = _kfp()
    from kfp import components, local

    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(pipeline_root))
    pipeline = components.load_component_from_file(str(spec_path))
    # The runner prints every task's logs to stdout; stdout belongs to the command's result.
    with warnings.catch_warnings(), contextlib.redirect_stdout(sys.stderr):
        # The spec names the production image; locally the current environment stands in for it.
        warnings.filterwarnings("ignore", message=".*non-Python base image.*", category=RuntimeWarning)
        task = pipeline(**arguments)
    output = task.output
    return output if isinstance(output, str) else json.dumps(output)
