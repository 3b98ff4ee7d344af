"""Sales documents as the document store's JSON text, built a whole part at a time.

Encoding each document dict on its own costs more than drawing the day. Here every field is
a column of ready JSON text: per-customer and per-product fragments (encoded once, picked
by index), numbers formatted once per distinct value, and Arrow joins the columns into
bodies in one pass. Each body is byte for byte what `document_body` writes for the
matching document of `sales_documents` (same keys, same order, same number and string
forms, timestamps tagged the same way), so readers cannot tell the two paths apart.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from winter_days.generators.catalogue import build_catalogue
from winter_days.generators.customers import CustomerPool
from winter_days.generators.sales import LEGACY_FORMS, SalesDraw, _draw_part, _iso_seconds, _offset_suffix, priced
from winter_days.records import CARD_PAYMENT_METHODS, PAYMENT_METHODS, SALE_STATUSES, SCHEMA_VERSION


@dataclass(frozen=True)
class EncodedSales:
    """A part of a day's sales: document ids and their stored JSON bodies, in sale order."""

    doc_ids: list[str]
    bodies: list[str]
    legacy_documents: int  # how many carry sale_timestamp in a legacy form

    def __len__(self) -> int:
        return len(self.doc_ids)


def _texts(values: list[str]) -> pa.Array:
    return pa.array(values, type=pa.string())


@lru_cache(maxsize=4)
def _customer_fragments(pool: CustomerPool) -> tuple[pa.Array, pa.Array, pa.Array]:
    """Per customer: the customer_id..region fields, the hashed e-mail field, the card field."""
    dumps = json.dumps
    identity = [
        f'"customer_id":{dumps(c)},"customer_name":{dumps(n)},"region":{dumps(r)}'
        for c, n, r in zip(pool.customer_id, pool.customer_name, pool.region, strict=False)
    ]
    email = [f'"contact_email_hashed":{dumps(e)}' for e in pool.email_hash]
    card = [f'"credit_card_last4":{dumps(c)}' for c in pool.card_last4]
    return _texts(identity), _texts(email), _texts(card)


@lru_cache(maxsize=4)
def _product_fragments(seed: int) -> pa.Array:
    catalogue = build_catalogue(seed)
    return _texts(
        [
            f'"product_id":{json.dumps(p)},"product_category":{json.dumps(c)}'
            for p, c in zip(catalogue.product_id, catalogue.category, strict=False)
        ]
    )


@lru_cache(maxsize=1)
def _clock() -> np.ndarray:
    """'HH:MM:SS' of every second of a day (object array, indexed by second of day)."""
    return np.array([f"{h:02d}:{m:02d}:{s:02d}" for h in range(24) for m in range(60) for s in range(60)], dtype=object)


def _float_texts(values: np.ndarray) -> pa.Array:
    """JSON text of finite floats, as Python's json writes them (repr), formatted once per
    distinct value: prices and totals take few distinct values."""
    distinct, index = np.unique(values, return_inverse=True)
    if not np.isfinite(distinct).all():
        raise ValueError("JSON has no representation for NaN or infinity")
    return _texts([float.__repr__(v) for v in distinct.tolist()]).take(pa.array(index.reshape(-1)))


def _timestamp_texts(draw: SalesDraw) -> pa.Array:
    """JSON text of each sale's `sale_timestamp` value (see sales.sale_timestamps)."""
    day = draw.day.isoformat()
    hms = _clock()[draw.second_of_day]
    texts = f'"{day}T' + hms + '+00:00"'
    form = draw.legacy_form
    midnight = (draw.day - date(1970, 1, 1)).days * 86_400
    for code, name in enumerate(LEGACY_FORMS):
        chosen = form == code
        if not chosen.any():
            continue
        epoch = midnight + draw.second_of_day[chosen].astype(np.int64)
        if name == "native_datetime":
            texts[chosen] = f'{{"$timestamp":"{day}T' + hms[chosen] + '+00:00"}'
        elif name == "epoch_seconds":
            texts[chosen] = epoch.astype(str).astype(object)
        elif name == "epoch_milliseconds":
            texts[chosen] = (epoch * 1000).astype(str).astype(object)
        elif name == "offset_string":
            minutes = draw.offset_minutes[chosen]
            texts[chosen] = '"' + _iso_seconds(epoch + minutes * 60) + _offset_suffix(minutes) + '"'
        elif name == "zulu_string":
            texts[chosen] = f'"{day}T' + hms[chosen] + 'Z"'
        else:
            texts[chosen] = f'"{day}"'
    return pa.array(texts, type=pa.string())


def encoded_sales(pool: CustomerPool, draw: SalesDraw, start: int = 0, stop: int | None = None) -> EncodedSales:
    """The stored bodies of `sales_documents(pool, draw, start, stop)`, without building
    the dicts."""
    stop = len(draw) if stop is None else min(stop, len(draw))
    part = _draw_part(draw, start, stop)
    n = len(part)
    if n == 0:
        return EncodedSales([], [], 0)
    ids = pc.binary_join_element_wise(
        f"SALE-{draw.day:%Y%m%d}-", pc.utf8_lpad(pa.array(np.arange(start + 1, stop + 1)).cast(pa.string()), 5, "0"), ""
    )
    identity, email, card = _customer_fragments(pool)
    buyer = pa.array(part.buyer)
    unit_price, total = priced(pool.seed, part)
    card_payment = np.isin(np.asarray(PAYMENT_METHODS, dtype=object), CARD_PAYMENT_METHODS)[part.payment]
    statuses = _texts([f'"status":{json.dumps(s)}' for s in SALE_STATUSES])
    payments = _texts([f'"payment_method":{json.dumps(p)}' for p in PAYMENT_METHODS])
    bodies = pc.binary_join_element_wise(
        '{"sale_id":"',
        ids,
        '",',
        identity.take(buyer),
        ",",
        _product_fragments(pool.seed).take(pa.array(part.product)),
        ',"quantity":',
        pa.array(part.quantity.astype(np.int64)).cast(pa.string()),
        ',"unit_price":',
        _float_texts(unit_price),
        ',"total_amount":',
        _float_texts(total),
        ',"currency":"USD",',
        statuses.take(pa.array(part.status)),
        ",",
        payments.take(pa.array(part.payment)),
        ",",
        email.take(buyer),
        ",",
        pc.if_else(pa.array(card_payment), card.take(buyer), '"credit_card_last4":null'),
        ',"sale_timestamp":',
        _timestamp_texts(part),
        f',"schema_version":{json.dumps(SCHEMA_VERSION)}}}',
        "",
    )
    return EncodedSales(ids.to_pylist(), bodies.to_pylist(), int((part.legacy_form >= 0).sum()))
