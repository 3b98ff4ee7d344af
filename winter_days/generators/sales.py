"""Sales documents for the document store (collection `winter_sales`).

A day's sales are a pure function of (seed, day, customer pool): the day's Generator draws
how many sales there are (5..20 unless a count is given), each sale's buyer among the
customers active that day with probability proportional to their purchase weight (draws
with replacement, independent of each other), the product, quantity, status and payment.
The churn ground truth (ground_truth.py) is computed from exactly this model.

A share of documents carry `sale_timestamp` in a legacy form, like a store that has lived
through schema versions; every form denotes the same instant as the canonical string
(date-only: the day).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date
from typing import Any

import numpy as np
import pyarrow as pa

from winter_days.generators.catalogue import build_catalogue
from winter_days.generators.customers import CustomerPool
from winter_days.generators.randomness import day_rng
from winter_days.records import CARD_PAYMENT_METHODS, PAYMENT_METHODS, SALE_STATUSES, SCHEMA_VERSION

DEFAULT_SALES_RANGE = (5, 20)  # sales per day when no count is given, uniform, inclusive
STATUS_PROBABILITIES = (0.82, 0.08, 0.06, 0.04)  # completed, pending, refunded, cancelled
COMPLETION_PROBABILITY = STATUS_PROBABILITIES[SALE_STATUSES.index("completed")]
PAYMENT_PROBABILITIES = (0.4, 0.25, 0.2, 0.1, 0.05)
DISCOUNTS = (1.0, 0.9, 0.8)
DISCOUNT_PROBABILITIES = (0.8, 0.15, 0.05)

LEGACY_FORMS = (
    "native_datetime",  # a tz-aware datetime (Firestore's native timestamp)
    "epoch_seconds",  # an int
    "epoch_milliseconds",  # an int
    "offset_string",  # 2026-03-01T15:45:12+02:00
    "zulu_string",  # 2026-03-01T13:45:12Z
    "date_only",  # 2026-03-01
)
LEGACY_OFFSETS_MINUTES = (120, -300, 330, 540, -180, 60)


@dataclass(frozen=True)
class SalesDraw:
    """One day's sales as column arrays (index k = the day's k-th sale, in time order)."""

    day: date
    buyer: np.ndarray  # int, index into the pool
    product: np.ndarray  # int, index into the catalogue
    quantity: np.ndarray
    discount: np.ndarray
    status: np.ndarray  # int, index into SALE_STATUSES
    payment: np.ndarray  # int, index into PAYMENT_METHODS
    second_of_day: np.ndarray
    legacy_form: np.ndarray  # int, index into LEGACY_FORMS, or -1 for the canonical string
    offset_minutes: np.ndarray  # used by offset_string documents

    def __len__(self) -> int:
        return len(self.buyer)


def draw_sales_day(
    pool: CustomerPool,
    day: date,
    rng: np.random.Generator,
    count: int | None = None,
    legacy_share: float = 0.0,
) -> SalesDraw:
    """Draw one day's sales with `rng` (the generative model; generate_sales seeds the rng)."""
    n = int(rng.integers(DEFAULT_SALES_RANGE[0], DEFAULT_SALES_RANGE[1] + 1)) if count is None else int(count)
    if n < 0:
        raise ValueError(f"sales count must be >= 0, got {n}")
    weights = pool.buy_weights(np.array([pool.day_offset(day)]))[0]
    total = weights.sum()
    if total <= 0.0:
        n = 0  # nobody is active yet (a day before anyone signed up): no sales
    catalogue = build_catalogue(pool.seed)
    buyer = rng.choice(pool.size, size=n, p=weights / total) if n else np.zeros(0, dtype=np.int64)
    return SalesDraw(
        day=day,
        buyer=buyer,
        product=rng.choice(len(catalogue.product_id), size=n, p=catalogue.popularity),
        quantity=1 + rng.poisson(0.6, size=n),
        discount=rng.choice(np.array(DISCOUNTS), size=n, p=DISCOUNT_PROBABILITIES),
        status=rng.choice(len(SALE_STATUSES), size=n, p=STATUS_PROBABILITIES),
        payment=rng.choice(len(PAYMENT_METHODS), size=n, p=PAYMENT_PROBABILITIES),
        second_of_day=np.sort(rng.integers(0, 86_400, size=n)),
        legacy_form=np.where(rng.random(n) < legacy_share, rng.integers(0, len(LEGACY_FORMS), size=n), -1),
        offset_minutes=rng.choice(np.array(LEGACY_OFFSETS_MINUTES), size=n),
    )


def _iso_seconds(epoch_seconds: np.ndarray) -> np.ndarray:
    """'YYYY-MM-DDTHH:MM:SS' of UTC epoch seconds (object array)."""
    return np.datetime_as_string(epoch_seconds.astype("datetime64[s]"), unit="s").astype(object)


def _offset_suffix(minutes: np.ndarray) -> np.ndarray:
    sign = np.where(minutes < 0, "-", "+").astype(object)
    a = np.abs(minutes)
    return (
        sign
        + np.char.zfill((a // 60).astype(str), 2).astype(object)
        + ":"
        + np.char.zfill((a % 60).astype(str), 2).astype(object)
    )


def sale_timestamps(draw: SalesDraw) -> list[Any]:
    """`sale_timestamp` values: the canonical ISO string, or the document's legacy form."""
    midnight = int((draw.day - date(1970, 1, 1)).days) * 86_400
    epoch = midnight + draw.second_of_day.astype(np.int64)
    values = _iso_seconds(epoch) + "+00:00"
    form = draw.legacy_form
    for code, name in enumerate(LEGACY_FORMS):
        chosen = form == code
        if not chosen.any():
            continue
        if name == "native_datetime":
            values[chosen] = pa.array(epoch[chosen], type=pa.timestamp("s", tz="UTC")).to_pylist()
        elif name == "epoch_seconds":
            values[chosen] = epoch[chosen].tolist()
        elif name == "epoch_milliseconds":
            values[chosen] = (epoch[chosen] * 1000).tolist()
        elif name == "offset_string":
            minutes = draw.offset_minutes[chosen]
            values[chosen] = _iso_seconds(epoch[chosen] + minutes * 60) + _offset_suffix(minutes)
        elif name == "zulu_string":
            values[chosen] = _iso_seconds(epoch[chosen]) + "Z"
        else:
            values[chosen] = draw.day.isoformat()
    return values.tolist()


def _draw_part(draw: SalesDraw, start: int, stop: int) -> SalesDraw:
    parts = {f.name: getattr(draw, f.name)[start:stop] for f in fields(SalesDraw) if f.name != "day"}
    return SalesDraw(day=draw.day, **parts)


def priced(seed: int, draw: SalesDraw) -> tuple[np.ndarray, np.ndarray]:
    """Unit price (catalogue price after discount) and total amount of each sale, in cents."""
    unit_price = np.round(build_catalogue(seed).price[draw.product] * draw.discount, 2)
    return unit_price, np.round(unit_price * draw.quantity, 2)


def sales_documents(
    pool: CustomerPool, draw: SalesDraw, start: int = 0, stop: int | None = None
) -> list[dict[str, Any]]:
    """The documents of a draw, in time order, each keyed by its deterministic sale_id; with
    `start`/`stop`, those of the day's sales start..stop-1 only (the same documents, a part
    at a time, so a large day need not be held whole)."""
    stop = len(draw) if stop is None else min(stop, len(draw))
    if start or stop < len(draw):
        draw = _draw_part(draw, start, stop)
    catalogue = build_catalogue(pool.seed)
    n = len(draw)
    prefix = f"SALE-{draw.day:%Y%m%d}-"
    unit_price, total_amount = priced(pool.seed, draw)
    payment = np.asarray(PAYMENT_METHODS, dtype=object)[draw.payment]
    is_card = np.isin(payment, CARD_PAYMENT_METHODS)
    columns = {
        "sale_id": [f"{prefix}{k:05d}" for k in range(start + 1, start + n + 1)],
        "customer_id": pool.customer_id[draw.buyer].tolist(),
        "customer_name": pool.customer_name[draw.buyer].tolist(),
        "region": pool.region[draw.buyer].tolist(),
        "product_id": catalogue.product_id[draw.product].tolist(),
        "product_category": catalogue.category[draw.product].tolist(),
        "quantity": draw.quantity.astype(np.int64).tolist(),
        "unit_price": unit_price.tolist(),
        "total_amount": total_amount.tolist(),
        "currency": ["USD"] * n,
        "status": np.asarray(SALE_STATUSES, dtype=object)[draw.status].tolist(),
        "payment_method": payment.tolist(),
        "contact_email_hashed": pool.email_hash[draw.buyer].tolist(),
        "credit_card_last4": np.asarray(np.where(is_card, pool.card_last4[draw.buyer], None), dtype=object).tolist(),
        "sale_timestamp": sale_timestamps(draw),
        "schema_version": [SCHEMA_VERSION] * n,
    }
    names = list(columns)
    return [dict(zip(names, row, strict=False)) for row in zip(*columns.values(), strict=False)]


def generate_sales(
    pool: CustomerPool,
    day: date,
    count: int | None = None,
    legacy_share: float = 0.2,
) -> list[dict[str, Any]]:
    """The sales documents of `day` (5..20 unless `count`), a pure function of pool and day."""
    return sales_documents(pool, sales_draw(pool, day, count, legacy_share))


def sales_draw(pool: CustomerPool, day: date, count: int | None = None, legacy_share: float = 0.2) -> SalesDraw:
    """The draw behind generate_sales: the day's sales as column arrays, seeded by the day."""
    if not 0.0 <= legacy_share <= 1.0:
        raise ValueError(f"legacy_share must be within 0..1, got {legacy_share}")
    return draw_sales_day(pool, day, day_rng(pool.seed, "sales", day), count, legacy_share)
