"""services/runtime/draws.py makes random's own draws: the same values, and the generator left in the same state."""

from __future__ import annotations

import random
from itertools import accumulate

import pytest

from services.runtime import draws


@pytest.mark.parametrize("seed", range(20))
def test_the_same_draws_as_the_standard_library(seed: int) -> None:
    ours, theirs = random.Random(seed), random.Random(seed)
    for n in (1, 2, 3, 5, 7, 8, 100, 1000, 2**40 + 3):
        seq = list(range(n)) if n <= 1000 else range(n)
        assert [draws.choice(ours, seq) for _ in range(50)] == [theirs.choice(seq) for _ in range(50)]
    for rate in (0.5, 1.0, 200.0, 1 / 0.005):
        assert [draws.expovariate(ours, rate) for _ in range(50)] == [theirs.expovariate(rate) for _ in range(50)]
    population, weights = "abcdef", [6, 2, 2, 2, 1, 2]
    cum = list(accumulate(weights))
    got = [draws.weighted(ours, population, cum) for _ in range(200)]
    assert got == [theirs.choices(population, cum_weights=cum)[0] for _ in range(200)]
    assert ours.getstate() == theirs.getstate()


def test_an_empty_choice_raises_as_random_does() -> None:
    with pytest.raises(IndexError):
        draws.choice(random.Random(1), [])
