"""Deterministic randomness for the simulated world.

Two sources, both pure functions of their inputs so any day can be generated alone:
- `hashed_uniforms` gives per-entity attributes (a customer, a product, a startup) from
  (seed, stream, index, ...) through a counter-based hash, so entity k is the same whatever
  the pool size or the order of generation;
- `day_rng` gives the numpy Generator of one flow on one day.
"""

from __future__ import annotations

from datetime import date

import numpy as np

# Stable codes: changing one changes every generated dataset of that flow.
FLOW_CODES = {"sales": 1, "clickstream": 2, "startups": 3}

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


def _splitmix(x: np.ndarray) -> np.ndarray:
    """The splitmix64 finaliser, vectorised (uint64 arithmetic wraps, as intended)."""
    x = x + _GOLDEN
    x = (x ^ (x >> np.uint64(30))) * _MIX1
    x = (x ^ (x >> np.uint64(27))) * _MIX2
    return x ^ (x >> np.uint64(31))


def hashed_bits(seed: int, stream: int, index: np.ndarray | int, *more: np.ndarray | int) -> np.ndarray:
    """64 random bits per element of `index` (broadcast with `more`), a pure function of all inputs."""
    with np.errstate(over="ignore"):
        h = _splitmix(np.full(1, np.uint64(seed % 2**64)))
        h = _splitmix(h ^ np.uint64(stream % 2**64))
        h = _splitmix(h ^ np.asarray(index, dtype=np.int64).astype(np.uint64))
        for part in more:
            h = _splitmix(h ^ np.asarray(part, dtype=np.int64).astype(np.uint64))
    return h


def hashed_uniforms(seed: int, stream: int, index: np.ndarray | int, *more: np.ndarray | int) -> np.ndarray:
    """Uniform floats in [0, 1), one per element of `index`."""
    return (hashed_bits(seed, stream, index, *more) >> np.uint64(11)).astype(np.float64) * 2.0**-53


def hashed_normals(seed: int, stream: int, index: np.ndarray | int) -> np.ndarray:
    """Standard normal draws (Box-Muller over two hashed streams)."""
    u1 = hashed_uniforms(seed, stream, index, 1)
    u2 = hashed_uniforms(seed, stream, index, 2)
    return np.sqrt(-2.0 * np.log1p(-u1)) * np.cos(2.0 * np.pi * u2)


def day_rng(seed: int, flow: str, day: date, *more: int) -> np.random.Generator:
    """The Generator of `flow` on `day`: no state is shared between days or flows."""
    return np.random.default_rng([seed % 2**63, FLOW_CODES[flow], day.toordinal(), *more])
