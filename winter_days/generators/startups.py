"""The startup registry: a universe of startups that grows and changes week by week.

Everything is a pure function of (seed, registry size, population_start): startup k has a
listing instant (the first `size` are listed before population_start, later ones join at
NEW_PER_WEEK_SHARE * size a week) and, in every week from population_start on, a change with
probability CHANGE_SHARE (at a random instant in that week): its funding stage may move
up (a new round raises funding and valuation), its valuation and head count drift, and it
may close or reopen. A load at day D is the registry as of the end of D: a full load holds
every listed startup, a delta only those listed or changed since the previous load.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from winter_days.generators.randomness import hashed_normals, hashed_uniforms
from winter_days.pseudonyms import Pseudonymiser
from winter_days.records import (
    FUNDING_STAGE_SCORES,
    FUNDING_STAGES,
    SCHEMA_VERSION,
    SECTORS,
    STARTUP_SCHEMA,
    VALUATION_BUCKETS,
)

DEFAULT_STARTUPS = 100
NEW_PER_WEEK_SHARE = 0.02
CHANGE_SHARE = 0.08
COUNTRIES = ("US", "GB", "DE", "FR", "NL", "SE", "IN", "SG", "BR", "IL")
_ADJECTIVES = (
    "Blue",
    "Quantum",
    "Bright",
    "Silent",
    "Rapid",
    "Green",
    "Nova",
    "Polar",
    "Solar",
    "Iron",
    "Clever",
    "Urban",
)
_NOUNS = (
    "Falcon",
    "Harbor",
    "Pixel",
    "Forge",
    "Orbit",
    "Cedar",
    "Signal",
    "Beacon",
    "Atlas",
    "Ledger",
    "Sprout",
    "Vector",
)
_SUFFIXES = ("Labs", "AI", "Health", "Systems", "Works", "Technologies", "Bio", "Pay")
STAGE_WEIGHTS = (0.3, 0.3, 0.2, 0.1, 0.06, 0.04)
STAGE_ROUND_USD = (0.5e6, 2.5e6, 12e6, 35e6, 80e6, 200e6)  # typical round at each stage
_S = {
    name: 300 + i
    for i, name in enumerate(
        "listed adjective noun suffix sector country founded stage round valuation employees active "
        "change when kind_stage kind_value value_noise kind_staff staff_noise kind_flip".split()
    )
}


@dataclass(frozen=True)
class StartupState:
    """The registry as of an instant, one element per listed startup (index = startup k)."""

    listed_at: np.ndarray  # float64, seconds from population_start
    stage: np.ndarray  # int, index into FUNDING_STAGES
    total_funding: np.ndarray
    valuation: np.ndarray
    employees: np.ndarray  # float64, rounded on output
    active: np.ndarray  # bool
    updated_at: np.ndarray  # float64, seconds from population_start


def _listing_seconds(seed: int, size: int, k: np.ndarray) -> np.ndarray:
    u = hashed_uniforms(seed, _S["listed"], k)
    before = -u * 3 * 365 * 86_400.0  # the initial registry, listed in the 3 years before
    per_second = size * NEW_PER_WEEK_SHARE / (7 * 86_400.0)
    after = (k - size + u) / per_second
    return np.where(k < size, before, after)


def registry_state(seed: int, size: int, as_of_seconds: float) -> StartupState:
    """The registry at `as_of_seconds` (seconds from population_start)."""
    per_second = size * NEW_PER_WEEK_SHARE / (7 * 86_400.0)
    n = size + max(0, int(np.ceil(as_of_seconds * per_second)) + 1)
    k = np.arange(n, dtype=np.int64)
    listed = _listing_seconds(seed, size, k)
    keep = listed <= as_of_seconds
    k, listed = k[keep], listed[keep]
    u = lambda name, *more: hashed_uniforms(seed, _S[name], k, *more)  # noqa: E731
    stage = np.searchsorted(np.cumsum(STAGE_WEIGHTS), u("stage"), side="right").clip(0, len(FUNDING_STAGES) - 1)
    rounds = np.array(STAGE_ROUND_USD)
    funding = np.cumsum(rounds)[stage] * np.exp(0.4 * hashed_normals(seed, _S["round"], k))
    valuation = funding * (3.0 + 5.0 * u("valuation"))
    employees = np.round(4 * 2.0**stage * np.exp(0.5 * hashed_normals(seed, _S["employees"], k)))
    active = u("active") < 0.92
    updated = listed.copy()
    weeks = int(np.floor(as_of_seconds / (7 * 86_400.0))) + 1 if as_of_seconds >= 0 else 0
    for week in range(weeks):
        when = (week + u("when", week)) * 7 * 86_400.0
        change = (u("change", week) < CHANGE_SHARE) & (listed < when) & (when <= as_of_seconds)
        up = change & (u("kind_stage", week) < 0.35) & (stage < len(FUNDING_STAGES) - 1)
        stage = stage + up
        funding = funding + np.where(up, rounds[np.minimum(stage, len(rounds) - 1)], 0.0)
        drift = np.exp(0.05 + 0.25 * hashed_normals(seed, _S["value_noise"], k * 4096 + week))
        valuation = np.where(
            up, valuation * 1.8, np.where(change & (u("kind_value", week) < 0.6), valuation * drift, valuation)
        )
        staff = np.exp(0.05 + 0.15 * hashed_normals(seed, _S["staff_noise"], k * 4096 + week))
        employees = np.where(change & (u("kind_staff", week) < 0.6), np.round(employees * staff), employees)
        flip = change & (u("kind_flip", week) < np.where(active, 0.05, 0.3))
        active = active ^ flip
        updated = np.where(change, when, updated)
    return StartupState(listed, stage, funding, valuation, employees, active, updated)


def _iso(population_start: date, seconds: np.ndarray) -> np.ndarray:
    origin = np.datetime64(population_start.isoformat(), "s")
    return np.datetime_as_string(origin + np.floor(seconds).astype("timedelta64[s]"), unit="s", timezone="UTC")


# Bucket edges of records.valuation_bucket (tests hold the two to the same answer).
_VALUATION_EDGES = np.array([10e6, 100e6, 1e9])


def startup_table(
    seed: int,
    population_start: date,
    day: date,
    previous_load: date | None = None,
    size: int = DEFAULT_STARTUPS,
    *,
    pseudonyms: Pseudonymiser,
) -> pa.Table:
    """The load of `day`: full (every listed startup) when `previous_load` is None, else the
    delta of startups listed or changed after the end of `previous_load`. Contact addresses
    are written as their pseudonyms under `pseudonyms`' key."""
    if previous_load is not None and previous_load >= day:
        raise ValueError(f"a delta load of {day} needs an earlier previous load, got {previous_load}")
    if size < 1:
        raise ValueError(f"startup registry size must be at least 1, got {size}")
    day_end = lambda d: (d.toordinal() - population_start.toordinal() + 1) * 86_400.0  # noqa: E731
    state = registry_state(seed, size, day_end(day) - 1)
    rows = np.arange(len(state.listed_at))
    if previous_load is not None:
        rows = rows[state.updated_at > day_end(previous_load) - 1]
    k = rows.astype(np.int64)
    pick = lambda options, name: np.asarray(options, dtype=object)[  # noqa: E731
        np.minimum((hashed_uniforms(seed, _S[name], k) * len(options)).astype(int), len(options) - 1)
    ]
    names = pick(_ADJECTIVES, "adjective") + " " + pick(_NOUNS, "noun") + " " + pick(_SUFFIXES, "suffix")
    slugs = [f"{name.lower().replace(' ', '-')}-{i + 1}" for name, i in zip(names, k, strict=False)]
    # Founded up to 12 years before it was listed, never after.
    listed_year = _iso(population_start, state.listed_at[rows]).astype("U4").astype(np.int64)
    founded = listed_year - np.floor(hashed_uniforms(seed, _S["founded"], k) * 12).astype(np.int64)
    stage = state.stage[rows]
    valuation = np.round(state.valuation[rows], 0)
    return (
        pa.table(
            {
                "startup_id": pc.binary_join_element_wise(
                    "STU-", pc.utf8_lpad(pa.array(k + 1).cast(pa.string()), 5, "0"), ""
                ),
                "name": names.tolist(),
                "sector": pick(SECTORS, "sector").tolist(),
                "country": pick(COUNTRIES, "country").tolist(),
                "founded_year": founded,
                "funding_stage": np.asarray(FUNDING_STAGES)[stage],
                "funding_stage_score": np.array([FUNDING_STAGE_SCORES[s] for s in FUNDING_STAGES])[stage],
                "total_funding_usd": np.round(state.total_funding[rows], 0),
                "valuation_usd": valuation,
                "valuation_bucket": np.asarray(VALUATION_BUCKETS)[
                    np.searchsorted(_VALUATION_EDGES, valuation, side="right")
                ],
                # The address exists only here, as the pseudonym of its cleaned (trimmed, lower-case) form.
                "contact_email_cleaned": pseudonyms.emails(f"  Founders@{s}.example " for s in slugs),
                "employee_count": state.employees[rows].astype(np.int64),
                "is_active": state.active[rows],
                "updated_at": _iso(population_start, state.updated_at[rows]),
                "load_type": pa.array(["full" if previous_load is None else "delta"] * len(k), pa.string()),
                "schema_version": pa.array([SCHEMA_VERSION] * len(k), pa.string()),
            }
        )
        .select(STARTUP_SCHEMA.names)
        .cast(STARTUP_SCHEMA)
    )


def startups_key(day: date) -> str:
    return f"bronze/startups/load_date={day.isoformat()}/startups-{day.isoformat()}.jsonl"


def load_dates(keys: list[str]) -> list[date]:
    """The load dates of startup files among lake keys."""
    found = set()
    for key in keys:
        for segment in key.split("/"):
            if segment.startswith("load_date="):
                try:
                    found.add(date.fromisoformat(segment[len("load_date=") :]))
                except ValueError:
                    continue
    return sorted(found)
