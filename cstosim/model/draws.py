"""Every random number of the model, keyed by what it is for (docs/MODEL.md §3 "Random numbers").

A draw is a pure function of its key: (replicate key, purpose, stream, month, member). Nothing
is drawn in sequence from a shared generator, so

* adding or removing an event, a member or a month leaves every other draw unchanged (common
  random numbers across counterfactual edits);
* the Mesa model (one replicate at a time) and the vectorised engine (a whole
  replicates × members array per call) get the very same numbers for the same seed.

The generator is Philox4x32-10 (Salmon, Moraes, Dror & Shaw 2011, "Parallel random numbers: as
easy as 1, 2, 3", SC'11), a counter-based generator used by Random123, JAX, cuRAND and NumPy's
own ``Philox`` (the 4x64 variant): the 64-bit replicate key is its key, and the counter holds
(member, month, purpose, stream). It is written here with NumPy integer arithmetic so that one
call fills an array of any shape; :mod:`tests.test_draws` checks it against the known-answer
vectors published with Random123.

Uniforms use 53 bits of two output words, u = ⌊x₀/2⁵⌋·2⁻²⁷ + ⌊x₁/2⁶⌋·2⁻⁵³ ∈ [0, 1) (the same
construction as NumPy's ``random_standard_uniform``); standard normals use the Box–Muller
transform of two such uniforms, z = √(−2 ln(1 − u₁))·cos(2π u₂).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from typing import Any

import numpy as np
from numpy.typing import NDArray

U32 = NDArray[np.uint64]  # 32-bit words held in uint64 so that products do not overflow
MASK32 = np.uint64(0xFFFFFFFF)
_32 = np.uint64(32)

# Philox4x32 constants (Salmon et al. 2011, table 2; Random123 philox.h)
_M0 = np.uint64(0xD2511F53)
_M1 = np.uint64(0xCD9E8D57)
_W0 = np.uint64(0x9E3779B9)
_W1 = np.uint64(0xBB67AE85)
ROUNDS = 10

# purposes: what a draw is for (the third counter word)
ALIGNMENT_NOISE = 0
"""Monthly alignment noise ξ, one standard normal per member and month (§7.5)."""
ENGAGEMENT = 1
"""Monthly engagement transition, one uniform per member and month (§7.7)."""
EVENT_NOISE = 2
"""An event's noise per member (willingness to answer a call, approval at a summit; §7.2, §7.6)."""
EVENT_UNIFORM = 3
"""An event's uniform per member (attendance, renewal; §7.6, §7.7)."""


def philox4x32(counter: Iterable[Any], key: Iterable[Any], rounds: int = ROUNDS) -> list[U32]:
    """Philox4x32 of ``counter`` (four 32-bit words) under ``key`` (two 32-bit words).

    Each word may be an integer or an array (all broadcast together); returns the four output
    words as uint64 arrays holding 32-bit values.
    """
    c0, c1, c2, c3 = (np.asarray(w, dtype=np.uint64) & MASK32 for w in counter)
    k0, k1 = (np.asarray(w, dtype=np.uint64) & MASK32 for w in key)
    for r in range(rounds):
        if r:
            k0 = (k0 + _W0) & MASK32
            k1 = (k1 + _W1) & MASK32
        p0 = _M0 * c0
        p1 = _M1 * c2
        c0, c1, c2, c3 = (p1 >> _32) ^ c1 ^ k0, p1 & MASK32, (p0 >> _32) ^ c3 ^ k1, p0 & MASK32
    return [c0, c1, c2, c3]


def code_hash(text: str) -> int:
    """A 32-bit identifier of a member code or an event id (CRC-32 of its UTF-8 bytes)."""
    return zlib.crc32(text.encode("utf-8"))


def member_hashes(codes: Iterable[str]) -> NDArray[np.uint64]:
    """:func:`code_hash` of every member code, as the member axis of a draw."""
    return np.array([code_hash(c) for c in codes], dtype=np.uint64)


def replicate_key(rng: np.random.Generator) -> int:
    """The replicate's 63-bit key, drawn once from the model's own generator (Mesa's ``rng``)."""
    return int(rng.integers(2**63))


def replicate_keys(root_seed: int, indices: Iterable[int]) -> NDArray[np.uint64]:
    """Keys of replicates ``indices`` of an ensemble, as :func:`replicate_key` gives them.

    Replicate k's generator is ``default_rng(SeedSequence(root_seed, spawn_key=(k,)))``, the
    generator the Mesa model receives for that replicate (docs/INTERFACES.md).
    """
    return np.array(
        [
            replicate_key(np.random.default_rng(np.random.SeedSequence(root_seed, spawn_key=(k,))))
            for k in indices
        ],
        dtype=np.uint64,
    )


def _words(
    keys: Any, purpose: int, stream: int, month: int, members: Any
) -> tuple[list[U32], list[U32]]:
    keys = np.asarray(keys, dtype=np.uint64)[..., None]  # (replicates, 1)
    members = np.asarray(members, dtype=np.uint64)  # (members,)
    counter = [members, np.uint64(month), np.uint64(purpose), np.uint64(stream)]
    key = [keys & MASK32, keys >> _32]
    return counter, key


def _unit(hi: U32, lo: U32) -> NDArray[np.float64]:
    """53-bit uniform in [0, 1) from two 32-bit words."""
    return ((hi >> np.uint64(5)).astype(np.float64) * 67108864.0 + (lo >> np.uint64(6))) * (
        1.0 / 9007199254740992.0
    )


def uniform(keys: Any, purpose: int, stream: int, month: int, members: Any) -> NDArray[np.float64]:
    """Uniforms in [0, 1), shape ``keys.shape + members.shape`` (replicates × members)."""
    x = philox4x32(*_words(keys, purpose, stream, month, members))
    return _unit(x[0], x[1])


def normal(keys: Any, purpose: int, stream: int, month: int, members: Any) -> NDArray[np.float64]:
    """Standard normals (Box–Muller), shape ``keys.shape + members.shape``."""
    x = philox4x32(*_words(keys, purpose, stream, month, members))
    u1, u2 = _unit(x[0], x[1]), _unit(x[2], x[3])
    return np.sqrt(-2.0 * np.log1p(-u1)) * np.cos(2.0 * np.pi * u2)


def absolute_month(month: tuple[int, int]) -> int:
    """Months since year 0 (the month word of the counter): 12·year + month − 1."""
    return month[0] * 12 + month[1] - 1


def monthly(
    keys: Any, month: tuple[int, int], members: Any
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """This month's alignment noise (normal) and engagement uniform for every member."""
    m = absolute_month(month)
    return (
        normal(keys, ALIGNMENT_NOISE, 0, m, members),
        uniform(keys, ENGAGEMENT, 0, m, members),
    )


def for_event(
    keys: Any, event_id: str, purpose: int, members: Any, kind: str = "normal"
) -> NDArray[np.float64]:
    """One draw per member for event ``event_id`` (keyed by its id, not its date)."""
    draw = normal if kind == "normal" else uniform
    return draw(keys, purpose, code_hash(event_id), 0, members)
