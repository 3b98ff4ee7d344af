"""The pseudonyms cannot be reversed with what an attacker knows: the generators' own
patterns for names and addresses, the name and customer id beside the hash, and the usual
unkeyed digests. Unsalted SHA-256 of first.last<n>@<domain> fell to exactly this."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import date
from itertools import product

import pyarrow.parquet as pq

from winter_days.export import export_sales
from winter_days.generators.customers import EMAIL_DOMAINS, FIRST_NAMES, LAST_NAMES, pool_from_settings
from winter_days.generators.jobs import write_sales, write_startups
from winter_days.generators.sales import generate_sales
from winter_days.platform import build_platform
from winter_days.stores import LocalLake, SqliteDocumentStore

DAY = date(2026, 3, 2)


def digests(text: str, seed: int) -> set[str]:
    """What an attacker computes for one guess: plain digests, and HMACs under keys one
    could guess (none, the seed, the project's name)."""
    data = text.encode()
    guesses = {hashlib.sha256(data).hexdigest(), hashlib.sha1(data).hexdigest(), hashlib.md5(data).hexdigest()}
    for key in (b"", str(seed).encode(), b"winter-days"):
        guesses.add(hmac.new(key, data, hashlib.sha256).hexdigest())
    return guesses


def test_an_address_hash_is_not_found_from_the_name_and_customer_id_beside_it(settings):
    pool = pool_from_settings(settings, build_platform(settings).pseudonymiser)
    documents = generate_sales(pool, DAY, 60)
    reversed_ = []
    for doc in documents:
        first, last = doc["customer_name"].split(" ")
        number = int(doc["customer_id"].split("-")[1])
        for domain in EMAIL_DOMAINS:
            for candidate in (f"{first}.{last}{number}@{domain}", f"{first}.{last}{number}@{domain}".lower()):
                if doc["contact_email_hashed"] in digests(candidate, settings.seed):
                    reversed_.append(doc["customer_id"])
    assert len(documents) == 60 and reversed_ == []


def test_a_founder_address_hash_is_not_found_from_the_startup_name(settings, tmp_path):
    lake = LocalLake(tmp_path / "lake")
    run = write_startups(
        lake, settings.seed, settings.population_start, DAY, count=40, pseudonyms=build_platform(settings).pseudonymiser
    )
    rows = [json.loads(line) for line in lake.get(run.key).decode().splitlines()]
    reversed_ = []
    for row in rows:
        slug = f"{row['name'].lower().replace(' ', '-')}-{int(row['startup_id'].split('-')[1])}"
        if row["contact_email_cleaned"] in digests(f"founders@{slug}.example", settings.seed):
            reversed_.append(row["startup_id"])
    assert len(rows) >= 40 and reversed_ == []


def test_bronze_holds_no_name_and_its_name_pseudonyms_match_no_guess(settings, tmp_path):
    pool = pool_from_settings(settings, build_platform(settings).pseudonymiser)
    store = SqliteDocumentStore(tmp_path / "documents.sqlite3")
    lake = LocalLake(tmp_path / "lake")
    write_sales(store, lake, pool, DAY, count=200)
    result = export_sales(store, lake, None, "r1", pseudonyms=build_platform(settings).pseudonymiser)
    store.close()
    table = pq.read_table(lake.local_path(result.key))

    names = {f"{first} {last}" for first, last in product(FIRST_NAMES, LAST_NAMES)}
    text = [
        v
        for name in table.column_names
        if table.schema.field(name).type == "string"
        for v in table.column(name).to_pylist()
        if v
    ]
    assert not [v for v in text if any(n in v for n in names)]
    assert set(table.column("customer_name").to_pylist()) == {None}
    guesses = set().union(*(digests(variant, settings.seed) for n in names for variant in (n, n.lower())))
    pseudonyms = set(table.column("customer_name_pseudonym").to_pylist())
    assert len(pseudonyms) > 50 and not pseudonyms & guesses
