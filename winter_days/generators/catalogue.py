"""The product catalogue the sales draw from: a pure function of the seed."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from winter_days.generators.randomness import hashed_normals, hashed_uniforms
from winter_days.records import PRODUCT_CATEGORIES

PRODUCTS = 400
# Typical unit price per category, in USD.
CATEGORY_PRICE = {
    "Electronics": 250.0,
    "Home": 60.0,
    "Fashion": 45.0,
    "Sports": 70.0,
    "Books": 18.0,
    "Beauty": 25.0,
    "Toys": 30.0,
    "Grocery": 8.0,
}
_S_CATEGORY, _S_PRICE, _S_POPULARITY = 201, 202, 203


@dataclass(frozen=True, eq=False)
class Catalogue:
    product_id: np.ndarray  # object (str)
    category: np.ndarray  # object (str)
    price: np.ndarray  # float64, rounded to cents
    popularity: np.ndarray  # float64, sums to 1


@lru_cache(maxsize=8)
def build_catalogue(seed: int) -> Catalogue:
    k = np.arange(PRODUCTS, dtype=np.int64)
    cat_idx = np.minimum((hashed_uniforms(seed, _S_CATEGORY, k) * len(PRODUCT_CATEGORIES)).astype(int), 7)
    category = np.asarray(PRODUCT_CATEGORIES, dtype=object)[cat_idx]
    typical = np.array([CATEGORY_PRICE[c] for c in PRODUCT_CATEGORIES])[cat_idx]
    price = np.maximum(np.round(typical * np.exp(0.5 * hashed_normals(seed, _S_PRICE, k)), 2), 0.99)
    # A long tail: a few products sell far more than most (Zipf-like over a random ranking).
    rank = np.argsort(hashed_uniforms(seed, _S_POPULARITY, k)).argsort() + 1
    popularity = 1.0 / rank**0.9
    return Catalogue(
        product_id=np.array([f"P-{i + 1:04d}" for i in k], dtype=object),
        category=category,
        price=price,
        popularity=popularity / popularity.sum(),
    )
