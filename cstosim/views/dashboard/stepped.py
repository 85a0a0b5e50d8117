"""One replicate of an ensemble as a Mesa model, for stepping month by month in SolaraViz.

:class:`SteppedAlliance` is the reference :class:`~cstosim.model.alliance.AllianceModel` seeded
as replicate ``k`` of an ensemble with root seed ``s`` (``SeedSequence(s).spawn(k + 1)[k]``, as
the runner and the vector engine seed it), so stepping it to the end gives exactly that
replicate's rows of the ensemble the dashboard ran. Its keyword-only constructor is what Mesa's
SolaraViz calls again when the user presses Reset.
"""

from __future__ import annotations

import numpy as np

from cstosim.engine.defaults import DEFAULT_SEED
from cstosim.language.scenario import Scenario
from cstosim.model.alliance import AllianceModel


def replicate_seed(root_seed: int, replicate: int) -> np.random.SeedSequence:
    """The seed of replicate ``replicate`` of an ensemble with root seed ``root_seed``."""
    if replicate < 0:
        raise ValueError(f"replicate must be 0 or more, got {replicate}")
    return np.random.SeedSequence(root_seed).spawn(replicate + 1)[replicate]


class SteppedAlliance(AllianceModel):
    """Replicate ``replicate`` of the ensemble of ``spec`` with root seed ``root_seed``.

    Args:
        spec: the loaded scenario (copied: stepping never changes the caller's object).
        root_seed: the ensemble's root seed.
        replicate: which replicate (0-based).
    """

    def __init__(self, spec: Scenario, root_seed: int = DEFAULT_SEED, replicate: int = 0) -> None:
        seed = replicate_seed(int(root_seed), int(replicate))
        super().__init__(spec.model_copy(deep=True), rng=np.random.default_rng(seed))
        self.root_seed = int(root_seed)
        self.replicate = int(replicate)
