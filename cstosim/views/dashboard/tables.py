"""Probability tables as small HTML tables (escaped; styled by the page).

* :func:`rung_table_html`: each member's probability of each rung of engagement at the end;
* :func:`change_table_html`: the same in A and in B, with the change B − A in points.
"""

from __future__ import annotations

import html

import pandas as pd

from cstosim.language.scenario import Scenario


def percent(p: float) -> str:
    """A probability as whole percent: ``0.734`` → ``73 %``; small non-zero values as ``<1 %``."""
    if 0 < p < 0.005:
        return "<1 %"
    if 0.995 < p < 1:
        return ">99 %"
    return f"{100 * p:.0f} %"


def points(change: float) -> str:
    """A change of probability in percentage points, signed: ``+48 pt``, ``−3 pt``, ``0``."""
    value = round(100 * change)
    if value == 0:
        return "0" if change == 0 else ("+<1 pt" if change > 0 else "−<1 pt")
    return f"{value:+d} pt".replace("-", "−")


def _cell(text: str, tag: str = "td", css: str = "") -> str:
    attr = f' class="{css}"' if css else ""
    return f"<{tag}{attr}>{html.escape(text)}</{tag}>"


def _member_label(scenario: Scenario | None, code: str) -> str:
    if scenario is not None and code in scenario.members:
        return f"{code} · {scenario.members[code].name}"
    return code


def rung_table_html(rungs: pd.DataFrame, scenario: Scenario | None = None, month: str = "") -> str:
    """``rungs`` (members × rungs, as :func:`.ensemble.final_rungs` gives) as an HTML table."""
    head = _cell(f"member ({month})" if month else "member", "th") + "".join(
        _cell(str(c), "th") for c in rungs.columns
    )
    rows = []
    for code, row in rungs.iterrows():
        cells = [_cell(_member_label(scenario, str(code)), "th")]
        cells += [_cell(percent(float(v)), css="num") for v in row]
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return (
        '<table class="cstosim-table cstosim-rungs"><thead><tr>'
        + head
        + "</tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
    )


def change_table_html(changes: pd.DataFrame, scenario: Scenario | None = None) -> str:
    """``changes`` (``member``, ``rung``, ``p_a``, ``p_b``, ``change``) as a table with one row
    per member and, for each rung, the probability in A, in B and the change."""
    rungs = list(dict.fromkeys(changes["rung"]))
    head1 = _cell("", "th") + "".join(f'<th colspan="3">{html.escape(str(r))}</th>' for r in rungs)
    head2 = _cell("member", "th") + "".join(
        _cell("A", "th") + _cell("B", "th") + _cell("B − A", "th") for _ in rungs
    )
    rows = []
    for code, group in changes.groupby("member", sort=False):
        by_rung = group.set_index("rung")
        cells = [_cell(_member_label(scenario, str(code)), "th")]
        for r in rungs:
            if r in by_rung.index:
                row = by_rung.loc[r]
                change = float(row["change"])
                css = "num up" if change > 0.005 else "num down" if change < -0.005 else "num"
                cells += [
                    _cell(percent(float(row["p_a"])), css="num"),
                    _cell(percent(float(row["p_b"])), css="num"),
                    _cell(points(change), css=css),
                ]
            else:
                cells += [_cell("", css="num")] * 3
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return (
        '<table class="cstosim-table cstosim-changes"><thead><tr>'
        + head1
        + "</tr><tr>"
        + head2
        + "</tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
    )


TABLE_CSS = """
.cstosim-table { border-collapse: collapse; font-size: 13px; margin: 6px 0; }
.cstosim-table th, .cstosim-table td { padding: 3px 8px; border-bottom: 1px solid #ddd; }
.cstosim-table thead th { border-bottom: 2px solid #888; text-align: center; }
.cstosim-table tbody th { text-align: left; font-weight: normal; white-space: nowrap; }
.cstosim-table td.num { text-align: right; font-variant-numeric: tabular-nums; }
.cstosim-table td.up { color: #006b4f; font-weight: bold; }
.cstosim-table td.down { color: #a33c00; font-weight: bold; }
"""
"""Styles of the tables (added to the page with ``solara.Style``)."""
