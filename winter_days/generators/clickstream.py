"""Website clickstream: sessions of events, one JSON Lines file per load date.

A day's events are a pure function of (seed, day, customer pool). They are generated in
fixed-size chunks, chunk c drawn by the Generator (seed, clickstream, day, c), so the output
does not depend on how the work is scheduled. A session is signed in with probability
SIGNED_IN_SHARE (its user drawn among the customers browsing that day, proportionally to
their browsing weight), anonymous otherwise. Within a session events move down a funnel
page_view -> product_view -> add_to_cart -> checkout -> purchase; anonymous sessions stop at
add_to_cart, and events after a purchase are page views. A session with one event bounces.

Events of day D are stamped within D; `load_timestamp` is the end of D, the moment the
day's file is complete, so a load date's file holds only events before its load time.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from winter_days.generators.catalogue import build_catalogue
from winter_days.generators.customers import CustomerPool
from winter_days.generators.jsonl import fragment_text, fragments, join_lines
from winter_days.generators.randomness import day_rng
from winter_days.records import CLICKSTREAM_SCHEMA, EVENT_TYPES, PRODUCT_CATEGORIES, SCHEMA_VERSION

DEFAULT_EVENTS = 1000
CHUNK_EVENTS = 131_072
SITE = "https://winter-days.shop"
SITE_DOMAIN = "winter-days.shop"
SIGNED_IN_SHARE = 0.6
BOUNCE_SHARE = 0.35
FUNNEL_ADVANCE = 0.3
MEAN_SECONDS_BETWEEN_EVENTS = 45.0

DEVICES = (  # device_type, device_type_category, share of sessions
    ("iPhone", "mobile", 0.22),
    ("Android Phone", "mobile", 0.24),
    ("iPad", "tablet", 0.06),
    ("Android Tablet", "tablet", 0.04),
    ("Windows PC", "desktop", 0.24),
    ("Mac", "desktop", 0.13),
    ("Linux PC", "desktop", 0.03),
    ("Chromebook", "desktop", 0.04),
)
EXTERNAL_REFERRERS = (  # referrer_url, share of sessions; None = direct visit
    ("https://www.google.com/search", 0.42),
    ("https://www.bing.com/search", 0.07),
    ("https://www.facebook.com/", 0.1),
    ("https://www.instagram.com/", 0.08),
    ("https://t.co/", 0.04),
    ("https://mail.winter-days.shop/newsletter", 0.06),
    (None, 0.23),
)


def _domain(url: str | None) -> str | None:
    if url is None:
        return None
    host = url.split("/")[2]
    return host[4:] if host.startswith("www.") else host


@dataclass(frozen=True)
class SitePages:
    """Page index space: home, category pages, product pages, cart, checkout, confirmation."""

    urls: tuple[str, ...]
    event_type: np.ndarray  # index into EVENT_TYPES per page
    n_browse: int  # pages 0..n_browse-1 are page_view pages
    first_product: int
    n_products: int

    @property
    def cart(self) -> int:
        return self.first_product + self.n_products


@lru_cache(maxsize=8)
def site_pages(seed: int) -> SitePages:
    catalogue = build_catalogue(seed)
    browse = ["/"] + [f"/c/{c.lower()}" for c in PRODUCT_CATEGORIES]
    products = [f"/p/{p}" for p in catalogue.product_id]
    tail = ["/cart", "/checkout", "/checkout/complete"]
    kinds = [0] * len(browse) + [1] * len(products) + [2, 3, 4]
    return SitePages(
        urls=tuple(SITE + path for path in browse + products + tail),
        event_type=np.array(kinds),
        n_browse=len(browse),
        first_product=len(browse),
        n_products=len(products),
    )


@lru_cache(maxsize=8)
def _event_fragments(seed: int) -> tuple[list[str], list[str]]:
    """Encoded `"event_type","page_url"` per page, and `"referrer_url","referrer_domain"` per
    referrer (internal pages first, then external referrers, the last one null)."""
    pages = site_pages(seed)
    page = [
        fragment_text("event_type", EVENT_TYPES[k]) + "," + fragment_text("page_url", url)
        for k, url in zip(pages.event_type, pages.urls, strict=False)
    ]
    referrers = list(pages.urls) + [url for url, _ in EXTERNAL_REFERRERS]
    ref = [
        fragment_text("referrer_url", url) + "," + fragment_text("referrer_domain", _domain(url)) for url in referrers
    ]
    return page, ref


@lru_cache(maxsize=1)
def _clock_texts() -> tuple[pa.Array, pa.Array]:
    hms = pa.array([f"{h:02d}:{m:02d}:{s:02d}" for h in range(24) for m in range(60) for s in range(60)])
    millis = pa.array([f".{ms:03d}Z" for ms in range(1000)])
    return hms, millis


@lru_cache(maxsize=4)
def _user_fragments(pool: CustomerPool) -> pa.Array:
    return pa.array([fragment_text("user_id", c) for c in pool.customer_id] + [fragment_text("user_id", None)])


@dataclass(frozen=True)
class ClickstreamChunk:
    """One chunk of a day's events as index arrays; `table()` and `jsonl()` render it."""

    pool: CustomerPool
    day: date
    first_event: int  # the day's index of this chunk's first event
    first_session: int
    session: np.ndarray  # per event, the chunk's session number
    user: np.ndarray  # per event, pool index, or pool.size when anonymous
    page: np.ndarray  # per event, index into SitePages.urls
    referrer: np.ndarray  # per event, index into internal pages + EXTERNAL_REFERRERS
    device: np.ndarray  # per event, index into DEVICES
    millisecond: np.ndarray  # per event, millisecond of the day
    bounce: np.ndarray  # per event, bool

    def __len__(self) -> int:
        return len(self.page)

    def _ids(self) -> tuple[pa.Array, pa.Array]:
        stamp = f"{self.day:%Y%m%d}-"
        events = pa.array(np.arange(self.first_event, self.first_event + len(self)) + 1).cast(pa.string())
        sessions = pa.array(self.session + self.first_session + 1).cast(pa.string())
        return (
            pc.binary_join_element_wise("EVT-" + stamp, pc.utf8_lpad(events, 7, "0"), ""),
            pc.binary_join_element_wise("SES-" + stamp, pc.utf8_lpad(sessions, 7, "0"), ""),
        )

    def _timestamps(self) -> tuple[pa.Array, pa.Array]:
        hms, millis = _clock_texts()
        return hms.take(pa.array(self.millisecond // 1000)), millis.take(pa.array(self.millisecond % 1000))

    def load_timestamp(self) -> str:
        return f"{self.day.isoformat()}T23:59:59.999Z"

    def table(self) -> pa.Table:
        """The events as a table of CLICKSTREAM_SCHEMA."""
        pages = site_pages(self.pool.seed)
        event_ids, session_ids = self._ids()
        hms, millis = self._timestamps()
        referrers = list(pages.urls) + [url for url, _ in EXTERNAL_REFERRERS]
        users = pa.array(list(self.pool.customer_id) + [None], type=pa.string())
        n = len(self)
        columns = [
            event_ids,
            session_ids,
            users.take(pa.array(self.user)),
            pa.array(EVENT_TYPES).take(pa.array(pages.event_type[self.page])),
            pa.array(pages.urls).take(pa.array(self.page)),
            pa.array(referrers, type=pa.string()).take(pa.array(self.referrer)),
            pa.array([_domain(u) for u in referrers], type=pa.string()).take(pa.array(self.referrer)),
            pa.array([d for d, _, _ in DEVICES]).take(pa.array(self.device)),
            pa.array([c for _, c, _ in DEVICES]).take(pa.array(self.device)),
            pc.binary_join_element_wise(f"{self.day.isoformat()}T", hms, millis, ""),
            pa.array(self.bounce),
            pa.array([self.load_timestamp()] * n, type=pa.string()) if n else pa.array([], pa.string()),
            pa.array([SCHEMA_VERSION] * n, type=pa.string()) if n else pa.array([], pa.string()),
        ]
        return pa.Table.from_arrays(columns, schema=CLICKSTREAM_SCHEMA)

    def jsonl(self) -> pa.Array:
        """The events as JSON Lines (one string per event, each ending in a newline), in
        CLICKSTREAM_SCHEMA's field order, equal to `table()` read back."""
        if len(self) == 0:
            return pa.array([], type=pa.string())
        page_texts, referrer_texts = _event_fragments(self.pool.seed)
        event_ids, session_ids = self._ids()
        hms, millis = self._timestamps()
        devices = [
            fragment_text("device_type", d) + "," + fragment_text("device_type_category", c) for d, c, _ in DEVICES
        ]
        tail = (
            ","
            + fragment_text("load_timestamp", self.load_timestamp())
            + ","
            + fragment_text("schema_version", SCHEMA_VERSION)
            + "}"
        )
        return join_lines(
            [
                '{"event_id":"',
                event_ids,
                '","session_id":"',
                session_ids,
                '",',
                _user_fragments(self.pool).take(pa.array(self.user)),
                ",",
                fragments(page_texts, self.page),
                ",",
                fragments(referrer_texts, self.referrer),
                ",",
                fragments(devices, self.device),
                f',"event_timestamp":"{self.day.isoformat()}T',
                hms,
                millis,
                '",',
                fragments(['"is_bounce":false', '"is_bounce":true'], self.bounce.astype(np.int8)),
                tail,
            ]
        )


def _session_lengths(rng: np.random.Generator, n_events: int) -> np.ndarray:
    """Session lengths summing to exactly n_events (the last one cut to fit)."""
    mean = BOUNCE_SHARE + (1 - BOUNCE_SHARE) * (1 + 1 / FUNNEL_ADVANCE)
    drawn: list[np.ndarray] = []
    total = 0
    while total < n_events:
        m = int((n_events - total) / mean * 1.2) + 16
        lengths = np.where(rng.random(m) < BOUNCE_SHARE, 1, 1 + rng.geometric(FUNNEL_ADVANCE, m))
        drawn.append(lengths)
        total += int(lengths.sum())
    lengths = np.concatenate(drawn)
    ends = np.cumsum(lengths)
    last = int(np.searchsorted(ends, n_events))
    lengths = lengths[: last + 1].copy()
    lengths[-1] -= int(ends[last]) - n_events
    return lengths


def draw_clickstream_chunk(pool: CustomerPool, day: date, n_events: int, chunk: int) -> ClickstreamChunk:
    """Chunk `chunk` of `day` with `n_events` events."""
    rng = day_rng(pool.seed, "clickstream", day, chunk)
    pages = site_pages(pool.seed)
    catalogue = build_catalogue(pool.seed)
    lengths = _session_lengths(rng, n_events) if n_events else np.zeros(0, dtype=np.int64)
    n_sessions = len(lengths)
    session = np.repeat(np.arange(n_sessions), lengths)
    starts = np.cumsum(lengths) - lengths
    position = np.arange(n_events) - starts[session]

    weights = pool.browse_weights(np.array([pool.day_offset(day)]))[0]
    total = weights.sum()
    signed_in = (rng.random(n_sessions) < SIGNED_IN_SHARE) & (total > 0)
    user = np.where(signed_in, rng.choice(pool.size, n_sessions, p=weights / total) if total > 0 else 0, pool.size)
    device = rng.choice(len(DEVICES), n_sessions, p=[s for _, _, s in DEVICES])
    external = rng.choice(len(EXTERNAL_REFERRERS), n_sessions, p=[s for _, s in EXTERNAL_REFERRERS])
    session_start_ms = rng.integers(0, 86_400_000, n_sessions)

    # Funnel level: a segmented running count of advances, capped by sign-in.
    advance = (rng.random(n_events) < FUNNEL_ADVANCE) & (position > 0)
    running = np.cumsum(advance)
    level = running - (running[starts] - advance[starts])[session]
    level = np.minimum(level, np.where(signed_in, 4, 2)[session])
    after_purchase = (level == 4) & (np.concatenate([[0], level[:-1]]) == 4) & (position > 0)
    browse_page = rng.integers(0, pages.n_browse, n_events)
    product_page = pages.first_product + rng.choice(pages.n_products, n_events, p=catalogue.popularity)
    page = np.select(
        [(level == 0) | after_purchase, level == 1],
        [browse_page, product_page],
        default=pages.cart + level - 2,
    )
    previous_page = np.concatenate([[0], page[:-1]])
    referrer = np.where(position == 0, len(pages.urls) + external[session], previous_page)

    gaps = np.where(position > 0, rng.exponential(MEAN_SECONDS_BETWEEN_EVENTS * 1000, n_events), 0).astype(np.int64)
    elapsed = np.cumsum(gaps)
    millisecond = np.minimum(
        session_start_ms[session] + elapsed - (elapsed[starts] - gaps[starts])[session], 86_399_999
    )
    return ClickstreamChunk(
        pool=pool,
        day=day,
        first_event=chunk * CHUNK_EVENTS,
        first_session=chunk * CHUNK_EVENTS,
        session=session,
        user=user[session],
        page=page,
        referrer=referrer,
        device=device[session],
        millisecond=millisecond,
        bounce=(lengths == 1)[session],
    )


def clickstream_chunks(pool: CustomerPool, day: date, count: int = DEFAULT_EVENTS) -> Iterator[ClickstreamChunk]:
    """The day's events in chunks of CHUNK_EVENTS (the last one smaller)."""
    if count < 0:
        raise ValueError(f"clickstream count must be >= 0, got {count}")
    for chunk, first in enumerate(range(0, count, CHUNK_EVENTS)):
        yield draw_clickstream_chunk(pool, day, min(CHUNK_EVENTS, count - first), chunk)


def generate_clickstream(pool: CustomerPool, day: date, count: int = DEFAULT_EVENTS) -> pa.Table:
    """The day's `count` events as one table of CLICKSTREAM_SCHEMA."""
    tables = [chunk.table() for chunk in clickstream_chunks(pool, day, count)]
    return pa.concat_tables(tables) if tables else CLICKSTREAM_SCHEMA.empty_table()


def clickstream_key(day: date) -> str:
    return f"bronze/clickstream/load_date={day.isoformat()}/clickstream-{day.isoformat()}.jsonl"
