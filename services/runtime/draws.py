"""Three of `random.Random`'s draws, as its own code makes them (CPython 3.11-3.13), for the hot paths.

`rng.choice(seq)`, `rng.expovariate(rate)` and `rng.choices(population, cum_weights=...)[0]` are Python code in the
standard library, called millions of times in a long virtual run. These functions make the same draws from the same
generator (the same calls to `getrandbits` and `random`, in the same order, with the same arithmetic) so that a seed
gives the same run; in the compiled build (setup.py) they run as C. tests/services/runtime/test_draws.py holds them
to the standard library's results.
"""

from __future__ import annotations

import math
import random
from bisect import bisect
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")


def below(rng: random.Random, n: int) -> int:
    """random's _randbelow_with_getrandbits: a uniform integer in [0, n)."""
    k = n.bit_length()
    r = rng.getrandbits(k)
    while r >= n:
        r = rng.getrandbits(k)
    return r


def choice(rng: random.Random, seq: Sequence[T]) -> T:
    """rng.choice(seq)."""
    if not seq:
        raise IndexError("Cannot choose from an empty sequence")
    return seq[below(rng, len(seq))]


def expovariate(rng: random.Random, rate: float) -> float:
    """rng.expovariate(rate)."""
    return -math.log(1.0 - rng.random()) / rate


def weighted(rng: random.Random, population: Sequence[T], cum_weights: Sequence[float]) -> T:
    """rng.choices(population, cum_weights=cum_weights)[0], for weights already checked (positive, finite)."""
    total = cum_weights[-1] + 0.0
    return population[bisect(cum_weights, rng.random() * total, 0, len(population) - 1)]
