"""Member states as Mesa agents over the struct-of-arrays state (docs/MODEL.md §2).

A :class:`MemberState` agent is the Mesa face of one member of
:class:`cstosim.model.state.AllianceState`: it holds its code and index and exposes its current
values as attributes, which is what Mesa's ``DataCollector`` reads (attribute-name reporters).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa

from cstosim.model import rules
from cstosim.model.levels import DOMESTIC, INTERSTATE, level_name
from cstosim.model.state import AllianceState

if TYPE_CHECKING:
    from cstosim.model.alliance import AllianceModel


class MemberState(mesa.Agent):
    """A member state (docs/MODEL.md §2): the Mesa face of one column of :class:`AllianceState`.

    Attributes read by the ``DataCollector``: ``member`` (code), ``alignment``, ``credibility``,
    ``engagement`` (``active``/``disengaged``/``frozen``/``exited``, ``absent`` before joining),
    ``value`` (membership value V), ``outside_option`` (O), ``grievance``. They are plain
    attributes (cheap for Mesa's reporters), refreshed from the arrays by :meth:`sync` at the end
    of every month; the arrays in ``model.state`` are the source of truth.
    """

    model: AllianceModel

    def __init__(self, model: AllianceModel, code: str, index: int) -> None:
        super().__init__(model)
        self.member = code
        self.index = index
        self.alignment = 0.0
        self.credibility = 0.0
        self.engagement = "absent"
        self.value = 0.0
        self.outside_option = 0.0
        self.grievance = 0.0

    @staticmethod
    def sync(agents: list[MemberState], s: AllianceState) -> None:
        """Copy every member's current values from the arrays to its reporter attributes."""
        columns = zip(
            s.alignment.tolist(),
            s.credibility.tolist(),
            s.level.tolist(),
            s.value.tolist(),
            s.outside.tolist(),
            s.grievance.tolist(),
            strict=True,
        )
        for agent, (a, c, level, v, o, g) in zip(agents, columns, strict=True):
            agent.alignment = a
            agent.credibility = c
            agent.engagement = level_name(level)
            agent.value = v
            agent.outside_option = o
            agent.grievance = g

    @property
    def credibility_domestic(self) -> float:
        """Current c_D (docs/MODEL.md §7.3), read from the arrays."""
        s = self.model.state
        return float(rules.beta_mean(s.alpha[DOMESTIC, self.index], s.beta[DOMESTIC, self.index]))

    @property
    def credibility_interstate(self) -> float:
        """Current c_I (docs/MODEL.md §7.3), read from the arrays."""
        s = self.model.state
        return float(
            rules.beta_mean(s.alpha[INTERSTATE, self.index], s.beta[INTERSTATE, self.index])
        )

    @property
    def leading(self) -> bool:
        return self.index == self.model.state.leader

    def __repr__(self) -> str:
        return f"MemberState({self.member}, {self.engagement}, alignment={self.alignment:.3f})"
