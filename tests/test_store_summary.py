"""summary.csv built chunk by chunk: equal to the pandas reference, in memory or by second pass."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cstosim.engine.ensemble import run_ensemble
from cstosim.language.loader import load_scenario
from cstosim.store.manifest import RunInfo, utc_now
from cstosim.store.results import ResultsWriter
from cstosim.store.summary import Summariser, summarize

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
QUANTILES = {"q05": 0.05, "q25": 0.25, "median": 0.5, "q75": 0.75, "q95": 0.95}
STATES = ("active", "disengaged", "frozen", "exited", "absent")
LEVEL = {"absent": -1, "active": 0, "disengaged": 1, "frozen": 2, "exited": 3}


# ---- the pandas groupby implementation that summary.csv had before streaming (the oracle) -----


def reference_summarize(model: pd.DataFrame, members: pd.DataFrame) -> pd.DataFrame:
    parts = [_numeric(model, [], member=None)]
    if len(members):
        parts.append(_numeric(members, ["member"], member="member"))
        parts.append(_engagement(members))
    out = pd.concat([p for p in parts if len(p)], ignore_index=True)
    return out[["date", "member", "variable", "statistic", "value"]]


def _numeric(frame: pd.DataFrame, keys: list[str], member: str | None) -> pd.DataFrame:
    columns = [
        c
        for c in frame.columns
        if c not in {"replicate", "date", "member"}
        and pd.api.types.is_numeric_dtype(frame[c])
        and not pd.api.types.is_bool_dtype(frame[c])
    ]
    grouped = frame.groupby(["date", *keys], sort=True)[columns]
    stats = {"mean": grouped.mean()}
    for name, q in QUANTILES.items():
        stats[name] = grouped.quantile(q)
    long = []
    for name, table in stats.items():
        melted = table.reset_index().melt(
            id_vars=["date", *keys], var_name="variable", value_name="_value"
        )
        melted = melted.rename(columns={"_value": "value"})  # members have a `value` column
        melted["statistic"] = name
        long.append(melted)
    out = pd.concat(long, ignore_index=True)
    if member is None:
        out["member"] = None
    out["_order"] = out["statistic"].map({name: i for i, name in enumerate(stats)})
    by = ["date", "member", "variable", "_order"] if member else ["date", "variable", "_order"]
    return out.sort_values(by, kind="stable").drop(columns="_order").reset_index(drop=True)


def _engagement(members: pd.DataFrame) -> pd.DataFrame:
    h = members[["replicate", "date", "member", "engagement"]].sort_values(
        ["replicate", "member", "date"], kind="stable"
    )
    level = h["engagement"].map(LEVEL).fillna(-1)
    group = [h["replicate"], h["member"]]
    h = h.assign(
        ever_frozen=(level >= 2).astype(int).groupby(group).cummax() > 0,
        ever_exited=(level >= 3).astype(int).groupby(group).cummax() > 0,
    )
    n = h.groupby(["date", "member"])["replicate"].nunique()
    columns = {}
    for state in STATES:
        columns[f"p_{state}"] = (h["engagement"] == state).groupby([h["date"], h["member"]]).sum()
    for flag in ("ever_frozen", "ever_exited"):
        columns[f"p_{flag}"] = h.groupby(["date", "member"])[flag].sum()
    wide = (pd.DataFrame(columns).div(n, axis=0)).reset_index()
    out = wide.melt(id_vars=["date", "member"], var_name="statistic")
    out["variable"] = "engagement"
    out["_order"] = out["statistic"].map({name: i for i, name in enumerate(columns)})
    out = out.sort_values(["date", "member", "_order"], kind="stable")
    return out.drop(columns="_order").reset_index(drop=True)


def same(got: pd.DataFrame, want: pd.DataFrame) -> None:
    """Equal up to float rounding (pandas sums with Kahan compensation, NumPy pairwise)."""

    def norm(frame: pd.DataFrame) -> pd.DataFrame:
        member = frame["member"].astype(object)
        return frame.reset_index(drop=True).assign(
            date=pd.to_datetime(frame["date"]).astype("datetime64[s]").to_numpy(),
            member=member.where(member.notna(), None).to_numpy(),
            variable=frame["variable"].astype(object).to_numpy(),
            statistic=frame["statistic"].astype(object).to_numpy(),
        )

    pd.testing.assert_frame_equal(norm(got), norm(want), check_exact=False, rtol=1e-12, atol=0)


# ---- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="module", params=["example-triad", "csto-2022-2023"])
def ensemble(request):
    scenario = load_scenario(SCENARIOS / f"{request.param}.yaml")
    return scenario, run_ensemble(scenario, replicates=12, root_seed=11, engine="mesa")


# ---- tests ------------------------------------------------------------------------------------


def test_summary_equals_the_pandas_reference(ensemble) -> None:
    _, ens = ensemble
    same(summarize(ens.model, ens.members), reference_summarize(ens.model, ens.members))


def test_summary_equals_the_reference_with_nan_gaps_and_odd_ids() -> None:
    """NaN values, a missing row, an unknown state and replicate ids that are not 0 … n − 1."""
    dates = pd.to_datetime(["2020-01-01", "2020-02-01", "2020-03-01"])
    rng = np.random.default_rng(1)
    rows = [(r, d, m) for r in (3, 8, 20) for d in dates for m in ("BBB", "AAA")]
    members = pd.DataFrame(rows, columns=["replicate", "date", "member"])
    members["alignment"] = rng.random(len(members))
    members.loc[[1, 7], "alignment"] = np.nan
    members["blocs"] = rng.integers(1, 4, len(members))
    members["engagement"] = rng.choice([*STATES, "unknown"], len(members))
    members = members.drop(index=4).reset_index(drop=True)  # replicate 3 misses one row
    model = members.groupby(["replicate", "date"], as_index=False)["alignment"].mean()
    model = model.rename(columns={"alignment": "cohesion"})
    same(summarize(model, members), reference_summarize(model, members))


def test_chunks_give_the_same_summary_as_whole_tables(ensemble) -> None:
    _, ens = ensemble
    summariser = Summariser(ens.replicates)
    for start in range(0, ens.replicates, 5):
        rows = range(start, min(start + 5, ens.replicates))
        summariser.add(
            ens.model[ens.model["replicate"].isin(rows)],
            ens.members[ens.members["replicate"].isin(rows)],
        )
    assert summariser.method == "in-memory"
    pd.testing.assert_frame_equal(summariser.result(), summarize(ens.model, ens.members))


def write(folder: Path, scenario, ens, budget: float | None, shuffle: bool = False) -> dict:
    """Write ``ens`` in chunks of 4 replicates (rows shuffled within each chunk if asked)."""
    folder.mkdir()
    info = RunInfo(scenario_file=None, sets=[], command=[], started=utc_now())
    with ResultsWriter(folder, scenario, ens.replicates, memory_budget=budget) as writer:
        for start in range(0, ens.replicates, 4):
            parts = []
            for name in ("model", "members", "events"):
                table = ens.table(name)
                part = table[table["replicate"].isin(range(start, start + 4))]
                parts.append(part.sample(frac=1.0, random_state=start) if shuffle else part)
            writer.add(*parts)
        return writer.finish(ens, info)


@pytest.mark.parametrize(("budget", "shuffle"), [(0, False), (40_000, False), (3_000, True)])
def test_second_pass_over_parquet_gives_the_same_summary(
    tmp_path: Path, ensemble, budget: int, shuffle: bool
) -> None:
    """A budget too small for the run's values: quantiles read back from the written files,
    one column and a few (month, member) cells per pass, by row position (rows in replicate,
    month, member order) or by key (shuffled rows); the file equals the in-memory one."""
    scenario, ens = ensemble
    memory = write(tmp_path / "memory", scenario, ens, None)
    spilled = write(tmp_path / "spilled", scenario, ens, budget, shuffle)
    assert (memory["summary_method"], spilled["summary_method"]) == ("in-memory", "second-pass")
    text = (tmp_path / "memory" / "summary.csv").read_text()
    assert (tmp_path / "spilled" / "summary.csv").read_text() == text
    manifest = json.loads((tmp_path / "spilled" / "manifest.json").read_text())
    assert manifest["files"]["summary.csv"] == memory["files"]["summary.csv"]


def test_summary_rejects_inconsistent_chunks(ensemble) -> None:
    _, ens = ensemble
    first = ens.members["replicate"] == 0
    summariser = Summariser(ens.replicates)
    summariser.add(ens.model[ens.model["replicate"] == 0], ens.members[first])
    later = ens.members[ens.members["replicate"] == 1].copy()
    later["date"] = later["date"] + pd.DateOffset(years=50)
    with pytest.raises(ValueError, match="missing from the first chunk"):
        summariser.add(ens.model.iloc[0:0], later)
    stray = ens.members[ens.members["replicate"] == 1].assign(member="ZZZ")
    with pytest.raises(ValueError, match="member 'ZZZ' not in the first chunk"):
        summariser.add(ens.model.iloc[0:0], stray)
    beyond = ens.model[ens.model["replicate"] == 1].assign(replicate=ens.replicates)
    with pytest.raises(ValueError, match="replicate index outside"):
        summariser.add(beyond, ens.members.iloc[0:0])


def test_second_pass_needs_the_files(ensemble) -> None:
    _, ens = ensemble
    summariser = Summariser(ens.replicates, memory_budget=0)
    summariser.add(ens.model, ens.members)
    assert summariser.method == "second-pass"
    with pytest.raises(ValueError, match="second pass"):
        summariser.result()
