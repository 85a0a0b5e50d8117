"""Keyed draws: Philox4x32-10 against Random123's known answers, and the keying properties."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from cstosim.model import draws


@pytest.mark.parametrize(
    ("counter", "key", "expected"),
    [  # Random123 kat_vectors, philox4x32 with 10 rounds
        ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
        ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
        (
            (0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344),
            (0xA4093822, 0x299F31D0),
            (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1),
        ),
    ],
)
def test_philox_known_answers(counter, key, expected) -> None:
    assert tuple(int(w) for w in draws.philox4x32(counter, key)) == expected


def test_one_call_fills_replicates_by_members_and_equals_single_calls() -> None:
    keys = np.array([1, 2**40 + 3, 2**62 + 5], dtype=np.uint64)
    members = draws.member_hashes(["AAA", "BBB"])
    block = draws.uniform(keys, draws.ENGAGEMENT, 0, 24000, members)
    assert block.shape == (3, 2)
    for r in range(3):
        np.testing.assert_array_equal(
            block[r], draws.uniform(keys[r : r + 1], draws.ENGAGEMENT, 0, 24000, members)[0]
        )
        for m in range(2):
            single = draws.uniform(keys[r : r + 1], draws.ENGAGEMENT, 0, 24000, members[m : m + 1])
            assert single[0, 0] == block[r, m]


def test_every_word_of_the_key_changes_the_draw() -> None:
    keys = np.array([7], dtype=np.uint64)
    members = draws.member_hashes(["AAA"])
    base = draws.normal(keys, draws.EVENT_NOISE, 5, 100, members)
    changed = [
        draws.normal(np.array([8], dtype=np.uint64), draws.EVENT_NOISE, 5, 100, members),
        draws.normal(keys, draws.EVENT_UNIFORM, 5, 100, members),
        draws.normal(keys, draws.EVENT_NOISE, 6, 100, members),
        draws.normal(keys, draws.EVENT_NOISE, 5, 101, members),
        draws.normal(keys, draws.EVENT_NOISE, 5, 100, draws.member_hashes(["BBB"])),
    ]
    for other in changed:
        assert other[0, 0] != base[0, 0]


def test_event_draws_do_not_depend_on_other_members_or_their_order() -> None:
    keys = draws.replicate_keys(3, range(4))
    ab = draws.for_event(keys, "summit", draws.EVENT_NOISE, draws.member_hashes(["A", "B"]))
    ba = draws.for_event(keys, "summit", draws.EVENT_NOISE, draws.member_hashes(["B", "A"]))
    b = draws.for_event(keys, "summit", draws.EVENT_NOISE, draws.member_hashes(["B"]))
    np.testing.assert_array_equal(ab[:, ::-1], ba)
    np.testing.assert_array_equal(ab[:, 1], b[:, 0])


def test_distributions() -> None:
    """20,000 draws: uniform on [0, 1) and standard normal (Kolmogorov–Smirnov, p > 0.001)."""
    keys = draws.replicate_keys(1, range(2000))
    members = draws.member_hashes([f"M{k}" for k in range(10)])
    u = draws.uniform(keys, draws.ENGAGEMENT, 0, 1, members).ravel()
    z = draws.normal(keys, draws.ALIGNMENT_NOISE, 0, 1, members).ravel()
    assert u.min() >= 0.0 and u.max() < 1.0
    assert stats.kstest(u, "uniform").pvalue > 1e-3
    assert stats.kstest(z, "norm").pvalue > 1e-3
    assert abs(np.corrcoef(u[:-1], u[1:])[0, 1]) < 0.03


def test_replicate_keys_follow_the_spawned_seeds() -> None:
    keys = draws.replicate_keys(5, [0, 3])
    for k, key in zip([0, 3], keys, strict=True):
        rng = np.random.default_rng(np.random.SeedSequence(5, spawn_key=(k,)))
        assert draws.replicate_key(rng) == int(key)
