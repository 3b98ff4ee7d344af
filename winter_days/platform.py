"""The platform: everything one installation's profile provides, chosen in one place.

A profile is a builder of the platform's ports: the lake, the sales document store, the run
store, the warehouse, the ELT engine, the ML pipeline runner, the caller verifier and the
pseudonymisation key.
`PROFILE_BUILDERS` maps each profile name to its builder, named by import path so that the
local profile never imports a cloud SDK, nor this module any adapter: a builder module
(`winter_days.profiles.local`, `winter_days.profiles.gcp`) imports the adapters it picks.
The service, the command line, the run steps, the demo and the dashboards receive a
`Platform`; nothing else looks at the profile.

To add a profile: write a builder class (the `ProfileBuilder` protocol) in its own module
under `winter_days/profiles/`, and name it here.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from winter_days.config import ConfigError, Settings

if TYPE_CHECKING:
    from winter_days.auth import CallerVerifier
    from winter_days.elt.backend import EltBackend
    from winter_days.lineage import DatasetNaming, LineageSink
    from winter_days.ml.port import ChurnPipelineRunner
    from winter_days.pseudonyms import Pseudonymiser
    from winter_days.runs import RunStore
    from winter_days.stores import DocumentStore, Lake
    from winter_days.stores.retention import ArtefactRetention
    from winter_days.warehouse import Warehouse

PROFILE_BUILDERS: dict[str, str] = {
    "local": "winter_days.profiles.local:LocalProfile",
    "gcp": "winter_days.profiles.gcp:GcpProfile",
}

T = TypeVar("T")


class ProfileBuilder(Protocol):
    """What a profile provides; each method builds one port's adapter from the settings."""

    #: Whether the whole platform runs on this machine (the demo needs that).
    single_machine: bool
    #: How often the orchestrator polls the ELT when the settings do not say.
    default_poll_interval_seconds: float
    #: Whether POST /run waits for the run's end when the settings do not say (a request
    #: may not outlive a container platform's request timeout).
    default_wait_for_run: bool

    def check(self, settings: Settings, serving: bool) -> None:
        """Raise ConfigError naming the first setting the profile's components miss."""
        ...

    def lake(self, settings: Settings) -> Lake: ...

    def document_store(self, settings: Settings) -> DocumentStore: ...

    def run_store(self, settings: Settings) -> RunStore: ...

    def warehouse(self, settings: Settings) -> Warehouse: ...

    def elt_backend(self, settings: Settings, vars: Mapping[str, str]) -> EltBackend: ...

    def ml_runner(self, platform: Platform) -> ChurnPipelineRunner: ...

    def caller_verifier(self, settings: Settings) -> CallerVerifier: ...

    def pseudonymiser(self, settings: Settings) -> Pseudonymiser:
        """The keyed pseudonyms of e-mails and names, with the installation's key."""

    def lineage_naming(self, settings: Settings) -> DatasetNaming:
        """How the profile's tables and document collections are named in lineage events."""
        ...

    def lineage_folder(self, settings: Settings) -> Path | None:
        """Where lineage events go when no lineage.url is set (None: nowhere)."""
        ...

    def ml_artefact_retention(self, settings: Settings, lake: Lake) -> ArtefactRetention:
        """What prunes old churn pipeline run artefacts."""
        ...


class Platform:
    """One installation's ports, each built on first use and then shared (thread-safe)."""

    def __init__(self, settings: Settings, builder: ProfileBuilder):
        self.settings = settings
        self.builder = builder
        self._built: dict[str, Any] = {}
        # Re-entrant: building one port may need another (the ML runner needs the lake).
        self._lock = threading.RLock()

    def _shared(self, name: str, build: Callable[[], T]) -> T:
        with self._lock:
            if name not in self._built:
                self._built[name] = build()
            return self._built[name]  # type: ignore[no-any-return]

    @property
    def profile(self) -> str:
        return self.settings.profile

    @property
    def single_machine(self) -> bool:
        return self.builder.single_machine

    @property
    def poll_interval_seconds(self) -> float:
        configured = self.settings.orchestrator.poll_interval_seconds
        return self.builder.default_poll_interval_seconds if configured is None else configured

    @property
    def waits_for_run(self) -> bool:
        configured = self.settings.orchestrator.wait_for_run
        return self.builder.default_wait_for_run if configured is None else configured

    @property
    def lineage(self) -> LineageSink:
        """Where the runs' OpenLineage events go (lineage.url, else the profile's folder, else nowhere)."""

        def build() -> LineageSink:
            from winter_days.lineage import LineageSink

            return LineageSink(
                self.builder.lineage_naming(self.settings),
                url=self.settings.lineage.url or None,
                folder=None if self.settings.lineage.url else self.builder.lineage_folder(self.settings),
            )

        return self._shared("lineage", build)

    @property
    def ml_artefact_retention(self) -> ArtefactRetention:
        return self._shared(
            "ml_artefact_retention", lambda: self.builder.ml_artefact_retention(self.settings, self.lake)
        )

    def check(self, serving: bool = False) -> None:
        """Every setting the profile's components need, checked before any work starts."""
        self.builder.check(self.settings, serving)
        if serving:
            self.verifier  # noqa: B018 - building it is the check

    @property
    def lake(self) -> Lake:
        return self._shared("lake", lambda: self.builder.lake(self.settings))

    @property
    def run_store(self) -> RunStore:
        return self._shared("run_store", lambda: self.builder.run_store(self.settings))

    @property
    def warehouse(self) -> Warehouse:
        return self._shared("warehouse", lambda: self.builder.warehouse(self.settings))

    @property
    def verifier(self) -> CallerVerifier:
        return self._shared("verifier", lambda: self.builder.caller_verifier(self.settings))

    @property
    def pseudonymiser(self) -> Pseudonymiser:
        return self._shared("pseudonymiser", lambda: self.builder.pseudonymiser(self.settings))

    @property
    def ml_runner(self) -> ChurnPipelineRunner:
        return self._shared("ml_runner", lambda: self.builder.ml_runner(self))

    def document_store(self) -> DocumentStore:
        """A document store for the caller to use and close."""
        return self.builder.document_store(self.settings)

    def elt_backend(self, vars: Mapping[str, str] | None = None) -> EltBackend:
        """An ELT engine for one run (it tracks that run's invocations); `vars` override the
        project's compilation vars."""
        return self.builder.elt_backend(self.settings, dict(vars or {}))

    def close(self) -> None:
        """Release what the shared ports hold (connections)."""
        with self._lock:
            built, self._built = self._built, {}
        for port in built.values():
            close = getattr(port, "close", None)
            if callable(close):
                close()


def profile_builder(profile: str) -> ProfileBuilder:
    """The builder of a profile, by its name in PROFILE_BUILDERS."""
    try:
        module_name, attribute = PROFILE_BUILDERS[profile].split(":")
    except KeyError:
        raise ConfigError(
            f"setting profile (WINTER_DAYS_PROFILE): unknown profile {profile!r}; allowed: {', '.join(PROFILE_BUILDERS)}"
        ) from None
    builder: ProfileBuilder = getattr(importlib.import_module(module_name), attribute)()
    return builder


def build_platform(settings: Settings) -> Platform:
    """The platform of the settings' profile; its ports are built when first used."""
    return Platform(settings, profile_builder(settings.profile))
