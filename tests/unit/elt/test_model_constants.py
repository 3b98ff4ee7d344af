"""The SQL models' domain lists (dataform/includes/constants.js) are the record contract's
(winter_days/records.py): if one changes without the other, staging would quarantine
valid rows or load invalid ones."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import quickjs

from winter_days import records

CONSTANTS = Path(__file__).resolve().parents[3] / "dataform" / "includes" / "constants.js"

PAIRS = {
    "REGIONS": records.REGIONS,
    "PRODUCT_CATEGORIES": records.PRODUCT_CATEGORIES,
    "SALE_STATUSES": records.SALE_STATUSES,
    "PAYMENT_METHODS": records.PAYMENT_METHODS,
    "CARD_PAYMENT_METHODS": records.CARD_PAYMENT_METHODS,
    "CURRENCIES": records.CURRENCIES,
    "EVENT_TYPES": records.EVENT_TYPES,
    "DEVICE_TYPE_CATEGORIES": records.DEVICE_TYPE_CATEGORIES,
    "SECTORS": records.SECTORS,
    "FUNDING_STAGES": records.FUNDING_STAGES,
    "VALUATION_BUCKETS": records.VALUATION_BUCKETS,
    "LOAD_TYPES": records.LOAD_TYPES,
}


@pytest.fixture(scope="module")
def constants() -> dict[str, str]:
    context = quickjs.Context()
    context.eval("var module = {exports: {}};")
    context.eval(CONSTANTS.read_text())
    return json.loads(context.eval("JSON.stringify(module.exports)"))


@pytest.mark.parametrize("name", sorted(PAIRS))
def test_each_sql_list_names_exactly_the_contract_values(constants, name):
    assert tuple(re.findall(r"'([^']*)'", constants[name])) == PAIRS[name]
