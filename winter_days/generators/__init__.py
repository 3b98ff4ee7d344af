"""Generators of the three flows: a simulated world of customers and startups, stateless per day.

Library entry points (the CLI, the demo and cloud jobs call these):
- build_customer_pool / pool_from_settings: the customer pool;
- generate_sales / write_sales: sales documents (and the churn ground truth);
- generate_clickstream / write_clickstream: clickstream events in the bronze lake;
- startup_table / write_startups: full and delta startup loads in the bronze lake;
- churn_probabilities / ground_truth_table: the true churn probability per customer.
"""

from __future__ import annotations

from winter_days.generators.clickstream import clickstream_key, generate_clickstream
from winter_days.generators.customers import CustomerPool, build_customer_pool, pool_from_settings
from winter_days.generators.ground_truth import (
    GroundTruthConflict,
    churn_probabilities,
    ground_truth_key,
    ground_truth_table,
)
from winter_days.generators.jobs import LakeRun, SalesRun, write_clickstream, write_sales, write_startups
from winter_days.generators.sales import LEGACY_FORMS, generate_sales
from winter_days.generators.startups import startup_table, startups_key

__all__ = [
    "CustomerPool",
    "GroundTruthConflict",
    "LEGACY_FORMS",
    "LakeRun",
    "SalesRun",
    "build_customer_pool",
    "churn_probabilities",
    "clickstream_key",
    "generate_clickstream",
    "generate_sales",
    "ground_truth_key",
    "ground_truth_table",
    "pool_from_settings",
    "startup_table",
    "startups_key",
    "write_clickstream",
    "write_sales",
    "write_startups",
]
