from __future__ import annotations

from datetime import date

import pytest
from support.pseudonym_keys import TEST_PSEUDONYMS

from winter_days.generators.customers import build_customer_pool

START = date(2026, 1, 1)


@pytest.fixture(scope="session")
def pool():
    return build_customer_pool(42, 2000, START, TEST_PSEUDONYMS)
