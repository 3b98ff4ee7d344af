"""The customer pool: who buys and browses, with what rhythm, and when they drift away.

Customer k is a pure function of (seed, k): the pool of size n is the first n customers of an
endless population, so a larger pool only adds customers. Days are counted relative to
`population_start` (day 0). Activity of a customer on day t is a weight:

    buy(t)    = base_rate * weekly(t) * fade(t - churn_onset)           for t >= signup
    browse(t) = browse_rate * weekly(t) * fade(t - churn_onset + lead)  for t >= signup

where fade(x) is 1 before x = 0, falls linearly to 0 over `fade_days`, and stays 0: a
churner's browsing starts to decline `browse_lead_days` before their buying does. The
churn onset is exponential after signup with a hazard proportional to the latent
`churn_propensity`, so every customer may churn, some much sooner than others.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

import numpy as np

from winter_days.generators.randomness import hashed_bits, hashed_normals, hashed_uniforms
from winter_days.pseudonyms import Pseudonymiser
from winter_days.records import REGIONS

FIRST_NAMES = (
    "Ada",
    "Ben",
    "Chloe",
    "Dmitri",
    "Elena",
    "Farah",
    "Gustav",
    "Hana",
    "Ivan",
    "Julia",
    "Kofi",
    "Lena",
    "Marco",
    "Nadia",
    "Oskar",
    "Priya",
    "Quinn",
    "Rosa",
    "Sven",
    "Tara",
    "Umar",
    "Vera",
    "Wen",
    "Ximena",
    "Yusuf",
    "Zoe",
)
LAST_NAMES = (
    "Andersen",
    "Brown",
    "Costa",
    "Dubois",
    "Eriksen",
    "Fischer",
    "Garcia",
    "Haddad",
    "Ito",
    "Jansen",
    "Kowalski",
    "Larsen",
    "Moreau",
    "Nowak",
    "Okafor",
    "Petrov",
    "Quispe",
    "Rossi",
    "Silva",
    "Tanaka",
    "Usman",
    "Varga",
    "Weber",
    "Xu",
    "Yilmaz",
    "Zhang",
)
EMAIL_DOMAINS = ("example.com", "mail.example.org", "inbox.example.net")
REGION_WEIGHTS = (0.3, 0.25, 0.25, 0.2)

# Streams of `hashed_uniforms`, one per attribute: renumbering one changes that attribute.
_S_FIRST, _S_LAST, _S_DOMAIN, _S_REGION, _S_CARD = 101, 102, 103, 104, 105
_S_SIGNUP_EXISTING, _S_SIGNUP_DAY, _S_RATE, _S_BROWSE = 106, 107, 108, 109
_S_WEEK_AMP, _S_WEEK_PHASE, _S_PROPENSITY, _S_ONSET, _S_FADE, _S_LEAD = 110, 111, 112, 113, 114, 115

EXISTING_SHARE = 0.5  # customers already signed up before population_start
EXISTING_SPAN_DAYS = 365  # ... within the year before it
JOINING_SPAN_DAYS = 180  # the others join over the half year after it
CHURN_HAZARD_PER_PROPENSITY = 1.0 / 100.0  # daily onset hazard = propensity / 100


@dataclass(frozen=True, eq=False)
class CustomerPool:
    """Column arrays, one element per customer, index k = customer k."""

    seed: int
    population_start: date
    customer_id: np.ndarray  # object (str)
    customer_name: np.ndarray  # object (str), kept in memory and in sales documents only
    region: np.ndarray  # object (str)
    email_hash: np.ndarray  # object (keyed pseudonym, 64 hex); the raw address never leaves build time
    card_last4: np.ndarray  # object (4 digits)
    signup_day: np.ndarray  # int64, days from population_start
    base_rate: np.ndarray  # float64, relative daily purchase rate
    browse_rate: np.ndarray  # float64, relative daily browsing rate
    weekly_amplitude: np.ndarray  # float64 in [0, 0.8)
    weekly_phase: np.ndarray  # float64 in [0, 7), the weekday of peak activity
    churn_propensity: np.ndarray  # float64 in (0, 1)
    churn_onset_day: np.ndarray  # float64, days from population_start
    fade_days: np.ndarray  # float64, days from onset until buying stops
    browse_lead_days: np.ndarray  # float64, how much earlier browsing starts to fade
    pseudonyms: Pseudonymiser  # the installation's key: the other flows' addresses are hashed with it too

    @property
    def size(self) -> int:
        return len(self.customer_id)

    def day_offset(self, day: date) -> int:
        return day.toordinal() - self.population_start.toordinal()

    def _weekly(self, t: np.ndarray) -> np.ndarray:
        weekday = (t[:, None] + self.population_start.toordinal() - 1) % 7  # Monday = 0
        return 1.0 + self.weekly_amplitude * np.cos(2.0 * np.pi * (weekday - self.weekly_phase) / 7.0)

    def _fade(self, t: np.ndarray, lead: np.ndarray | float) -> np.ndarray:
        since = t[:, None] - (self.churn_onset_day - lead)
        return np.clip(1.0 - since / self.fade_days, 0.0, 1.0)

    def _signed_up(self, t: np.ndarray) -> np.ndarray:
        return t[:, None] >= self.signup_day

    def buy_weights(self, days: np.ndarray) -> np.ndarray:
        """Purchase weights, shape (len(days), size), for day offsets `days`."""
        t = np.asarray(days, dtype=np.int64).reshape(-1)
        return np.where(self._signed_up(t), self.base_rate * self._weekly(t) * self._fade(t, 0.0), 0.0)

    def browse_weights(self, days: np.ndarray) -> np.ndarray:
        """Browsing weights, shape (len(days), size), for day offsets `days`."""
        t = np.asarray(days, dtype=np.int64).reshape(-1)
        fade = self._fade(t, self.browse_lead_days)
        return np.where(self._signed_up(t), self.browse_rate * self._weekly(t) * fade, 0.0)

    def signed_up_by(self, day: date) -> np.ndarray:
        """Whether each customer had signed up by the end of `day`."""
        return self.signup_day <= self.day_offset(day)


def _pick(options: tuple[str, ...], u: np.ndarray, weights: tuple[float, ...] | None = None) -> np.ndarray:
    probs = np.full(len(options), 1.0 / len(options)) if weights is None else np.asarray(weights) / sum(weights)
    idx = np.minimum(np.searchsorted(np.cumsum(probs), u, side="right"), len(options) - 1)
    return np.asarray(options, dtype=object)[idx]


@lru_cache(maxsize=8)
def build_customer_pool(seed: int, size: int, population_start: date, pseudonyms: Pseudonymiser) -> CustomerPool:
    """The first `size` customers of the population drawn from `seed` (cached: it is immutable);
    their e-mail addresses exist only as pseudonyms under `pseudonyms`' key."""
    if size < 1:
        raise ValueError(f"customer pool size must be at least 1, got {size}")
    k = np.arange(size, dtype=np.int64)
    u = lambda stream: hashed_uniforms(seed, stream, k)  # noqa: E731
    first = _pick(FIRST_NAMES, u(_S_FIRST))
    last = _pick(LAST_NAMES, u(_S_LAST))
    domain = _pick(EMAIL_DOMAINS, u(_S_DOMAIN))
    names = first + " " + last
    # The raw addresses exist only inside this call; only their keyed pseudonyms are kept.
    email_hash = np.array(
        pseudonyms.emails(
            f"{given}.{family}{i + 1}@{d}" for given, family, i, d in zip(first, last, k, domain, strict=True)
        ),
        dtype=object,
    )
    card = (hashed_bits(seed, _S_CARD, k) % np.uint64(10_000)).astype(np.int64)

    existing = u(_S_SIGNUP_EXISTING) < EXISTING_SHARE
    span = u(_S_SIGNUP_DAY)
    signup = np.where(existing, -1 - np.floor(span * EXISTING_SPAN_DAYS), np.floor(span * JOINING_SPAN_DAYS))
    base_rate = np.exp(0.9 * hashed_normals(seed, _S_RATE, k))
    # Browsing tracks buying (log-correlation ~0.8) with its own noise.
    browse_rate = base_rate**0.6 * np.exp(0.35 * hashed_normals(seed, _S_BROWSE, k))
    propensity = 1.0 / (1.0 + np.exp(-(-1.0 + 1.3 * hashed_normals(seed, _S_PROPENSITY, k))))
    onset_delay = -np.log1p(-u(_S_ONSET)) / (propensity * CHURN_HAZARD_PER_PROPENSITY)
    return CustomerPool(
        seed=seed,
        population_start=population_start,
        customer_id=np.array([f"CUST-{i + 1:06d}" for i in k], dtype=object),
        customer_name=names,
        region=_pick(REGIONS, u(_S_REGION), REGION_WEIGHTS),
        email_hash=email_hash,
        card_last4=np.array([f"{c:04d}" for c in card], dtype=object),
        signup_day=signup.astype(np.int64),
        base_rate=base_rate,
        browse_rate=browse_rate,
        weekly_amplitude=0.8 * u(_S_WEEK_AMP),
        weekly_phase=7.0 * u(_S_WEEK_PHASE),
        churn_propensity=propensity,
        churn_onset_day=signup + onset_delay,
        fade_days=14.0 + 42.0 * u(_S_FADE),
        browse_lead_days=7.0 + 14.0 * u(_S_LEAD),
        pseudonyms=pseudonyms,
    )


def pool_from_settings(settings: Any, pseudonyms: Pseudonymiser, seed: int | None = None) -> CustomerPool:
    """The pool the settings describe (`customers`, `population_start`, `seed`), its e-mail
    addresses pseudonymised with the installation's key (`platform.pseudonymiser`)."""
    return build_customer_pool(
        settings.seed if seed is None else seed, int(settings.customers), settings.population_start, pseudonyms
    )
