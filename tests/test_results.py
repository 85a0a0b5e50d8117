"""Results folder: atomic writing, refusal to overwrite, manifest, tables, summary, reading."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd
import pytest

from cstosim.engine.ensemble import Ensemble, run_ensemble
from cstosim.language.loader import load_scenario
from cstosim.runs import RunRequest, run_to_folder
from cstosim.store import manifest as M
from cstosim.store import results as R

EXAMPLE = Path(__file__).resolve().parents[1] / "scenarios" / "example-triad.yaml"

MANIFEST_FIELDS = {
    "format", "format_version", "cstosim_version", "git_commit", "git_dirty", "python",
    "platform", "versions", "scenario_name", "scenario_title", "scenario_file", "sets",
    "scenario_sha256", "calendar", "until", "root_seed", "replicates", "engine", "chunk_size",
    "jobs", "jobs_requested", "seeding", "summary_method", "command", "command_line", "started",
    "ended", "wall_time_s", "files",
}  # fmt: skip


@pytest.fixture(scope="module")
def scenario():
    return load_scenario(EXAMPLE)


@pytest.fixture(scope="module")
def folder(tmp_path_factory, scenario) -> Path:
    target = tmp_path_factory.mktemp("res") / "run"
    request = RunRequest(
        replicates=4,
        seed=5,
        jobs=1,
        engine="mesa",
        chunk_size=3,
        figure_format=None,
        quiet=True,
        command=["cstosim", "run", str(EXAMPLE)],
        scenario_file=str(EXAMPLE),
    )
    run_to_folder(target, scenario, request)
    return target


def test_streamed_tables_hold_the_rows_of_an_in_memory_run(folder: Path, scenario) -> None:
    """Written in chunks of 3 replicates (3 + 1): the rows of an in-memory run, in order."""
    ens = run_ensemble(scenario, replicates=4, root_seed=5, engine="mesa")
    for name in ("model", "members", "events"):
        back = R.read_table(folder / f"{name}.parquet")
        want = ens.table(name).astype({"date": back["date"].dtype})
        pd.testing.assert_frame_equal(back, want)


def test_folder_layout_and_columns(folder: Path) -> None:
    assert sorted(p.name for p in folder.iterdir()) == [
        "events.parquet", "manifest.json", "members.parquet", "model.parquet",
        "scenario.resolved.yaml", "summary.csv",
    ]  # fmt: skip
    model = pd.read_parquet(folder / "model.parquet")
    assert list(model.columns)[:2] == ["replicate", "date"]
    for column in (
        "cohesion",
        "credibility_mean",
        "engaged_share",
        "polarization",
        "blocs",
        "consensus_capacity",
        "exits",
    ):
        assert column in model.columns
    members = pd.read_parquet(folder / "members.parquet")
    assert list(members.columns)[:3] == ["replicate", "date", "member"]
    for column in ("alignment", "credibility", "engagement", "value", "outside_option"):
        assert column in members.columns
    assert set(members["engagement"]) <= set(R.STATES)
    events = pd.read_parquet(folder / "events.parquet")
    assert list(events.columns)[:2] == ["replicate", "date"]
    for column in ("event_id", "type", "member", "response", "outcome"):
        assert column in events.columns
    assert sorted(model["replicate"].unique()) == [0, 1, 2, 3]
    summary = pd.read_csv(folder / "summary.csv")
    assert list(summary.columns) == ["date", "member", "variable", "statistic", "value"]


def test_dates_are_calendar_dates_in_parquet(folder: Path) -> None:
    import pyarrow.parquet as pq

    for name in ("model", "members", "events"):
        schema = pq.read_schema(folder / f"{name}.parquet")
        assert str(schema.field("date").type) == "date32[day]"
        assert str(schema.field("replicate").type) == "int64"


def test_manifest_fields(folder: Path, scenario) -> None:
    manifest = json.loads((folder / "manifest.json").read_text())
    assert set(manifest) >= MANIFEST_FIELDS
    assert manifest["root_seed"] == 5 and manifest["replicates"] == 4
    assert manifest["jobs"] == 1
    assert manifest["engine"] == "mesa" and manifest["chunk_size"] == 3
    assert manifest["summary_method"] == "in-memory"
    assert manifest["scenario_name"] == "example-triad"
    for package in ("mesa", "numpy", "pandas"):
        assert manifest["versions"][package]
    text = (folder / "scenario.resolved.yaml").read_bytes()
    assert manifest["scenario_sha256"] == hashlib.sha256(text).hexdigest()
    for name, entry in manifest["files"].items():
        if isinstance(entry, dict) and "sha256" in entry:
            assert R.sha256_file(folder / name) == entry["sha256"]
        if name.endswith(".parquet"):
            assert entry["rows"] == len(pd.read_parquet(folder / name))
    assert manifest["wall_time_s"] >= 0
    assert manifest["started"] <= manifest["ended"]
    assert manifest["command_line"].startswith("cstosim run")


def test_resolved_scenario_loads_back_equal(folder: Path, scenario) -> None:
    assert load_scenario(folder / "scenario.resolved.yaml") == scenario


def test_read_results_round_trip(folder: Path) -> None:
    res = R.read_results(folder)
    assert res.scenario.name == "example-triad"
    assert pd.api.types.is_datetime64_any_dtype(res.model["date"])
    assert res.summary["member"].isna().any()
    final = R.final_table(res.summary)
    assert set(final["cohesion"]) >= {"q05", "median", "q95"}
    assert set(final["members"]) == {"LDR", "ALP", "BRV"}


def test_summary_is_consistent(folder: Path) -> None:
    s = R.read_results(folder).summary
    states = s[(s["variable"] == "engagement") & s["statistic"].isin([f"p_{x}" for x in R.STATES])]
    totals = states.groupby(["date", "member"])["value"].sum()
    assert totals.round(9).eq(1).all()
    wide = s[s["variable"] == "cohesion"].pivot_table(
        index="date", columns="statistic", values="value"
    )
    assert (wide["q05"] <= wide["q25"]).all() and (wide["q25"] <= wide["median"]).all()
    assert (wide["median"] <= wide["q75"]).all() and (wide["q75"] <= wide["q95"]).all()


def test_summary_known_answer() -> None:
    dates = pd.to_datetime(["2020-01-01", "2020-02-01", "2020-03-01"])
    model = pd.DataFrame(
        {
            "replicate": [0, 0, 0, 1, 1, 1],
            "date": list(dates) * 2,
            "cohesion": [0.0, 0.0, 0.0, 1.0, 1.0, 1.0],
        }
    )
    members = pd.DataFrame({
        "replicate": [0, 0, 0, 1, 1, 1], "date": list(dates) * 2, "member": ["AAA"] * 6,
        "alignment": [0.2] * 6,
        "engagement": ["active", "exited", "active", "active", "frozen", "frozen"],
    })  # fmt: skip
    s = R.summarize(model, members)

    def value(variable: str, statistic: str, month: int, member=None) -> float:
        rows = s[
            (s["variable"] == variable)
            & (s["statistic"] == statistic)
            & (s["date"] == dates[month])
        ]
        rows = rows[rows["member"].isna()] if member is None else rows[rows["member"] == member]
        return float(rows["value"].iloc[0])

    assert value("cohesion", "median", 0) == 0.5
    assert value("cohesion", "q05", 0) == pytest.approx(0.05)
    assert value("alignment", "mean", 2, "AAA") == pytest.approx(0.2)
    assert value("engagement", "p_exited", 1, "AAA") == 0.5
    assert value("engagement", "p_exited", 2, "AAA") == 0.0  # returned
    assert value("engagement", "p_ever_exited", 2, "AAA") == 0.5  # but has exited once
    assert value("engagement", "p_ever_frozen", 2, "AAA") == 1.0  # frozen or exited
    assert value("engagement", "p_active", 0, "AAA") == 1.0


def test_staged_folder_commits_on_success(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "run"
    with R.staged_folder(target) as tmp:
        assert tmp.parent == target.parent and tmp.name.startswith(".run.partial-")
        (tmp / "manifest.json").write_text("{}")
    assert (target / "manifest.json").exists()
    assert [p.name for p in target.parent.iterdir()] == ["run"]


@pytest.mark.parametrize("error", [RuntimeError("boom"), KeyboardInterrupt()])
def test_staged_folder_leaves_nothing_on_failure(tmp_path: Path, error: BaseException) -> None:
    target = tmp_path / "new" / "deeper" / "run"
    with pytest.raises(type(error)), R.staged_folder(target) as tmp:
        (tmp / "half.txt").write_text("x")
        raise error
    assert list(tmp_path.iterdir()) == []  # neither the folder nor the parents it created


def test_existing_folder_is_not_replaced_without_force(tmp_path: Path) -> None:
    target = tmp_path / "run"
    target.mkdir()
    (target / "manifest.json").write_text('{"keep": true}')
    with pytest.raises(R.OutputExistsError, match="--force"), R.staged_folder(target):
        pass
    assert json.loads((target / "manifest.json").read_text()) == {"keep": True}
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_force_replaces_a_results_folder_but_not_anything_else(tmp_path: Path) -> None:
    target = tmp_path / "run"
    target.mkdir()
    (target / "manifest.json").write_text("old")
    (target / "stale.txt").write_text("old")
    with R.staged_folder(target, force=True) as tmp:
        (tmp / "manifest.json").write_text("new")
    assert (target / "manifest.json").read_text() == "new"
    assert not (target / "stale.txt").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["run"]

    other = tmp_path / "home"
    other.mkdir()
    (other / "precious.txt").write_text("x")
    with pytest.raises(R.OutputExistsError, match="not a cstosim results folder"):
        R.check_target(other, force=True)
    empty = tmp_path / "empty"
    empty.mkdir()
    R.check_target(empty, force=True)


def test_interrupted_run_writes_nothing(tmp_path: Path, scenario, monkeypatch) -> None:
    from cstosim.engine import ensemble

    real = ensemble.run_replicate

    def interrupt(scn, seed, k, until):
        if k == 2:
            raise KeyboardInterrupt
        return real(scn, seed, k, until)

    monkeypatch.setattr(ensemble, "run_replicate", interrupt)
    target = tmp_path / "results" / "run"
    with pytest.raises(KeyboardInterrupt):
        run_to_folder(
            target,
            scenario,
            RunRequest(replicates=4, engine="mesa", chunk_size=1, quiet=True, figure_format=None),
        )
    assert list(tmp_path.iterdir()) == []


def test_read_results_errors(tmp_path: Path) -> None:
    with pytest.raises(R.ResultsError, match="no such results folder"):
        R.read_results(tmp_path / "missing")
    with pytest.raises(R.ResultsError, match=r"no manifest\.json"):
        R.read_results(tmp_path)
    (tmp_path / "manifest.json").write_text("not json")
    with pytest.raises(R.ResultsError, match="cannot read"):
        R.read_results(tmp_path)
    (tmp_path / "manifest.json").write_text('{"format": "other"}')
    with pytest.raises(R.ResultsError, match="not a cstosim results manifest"):
        R.read_results(tmp_path)
    (tmp_path / "manifest.json").write_text('{"format": "cstosim-results"}')
    with pytest.raises(R.ResultsError):
        R.read_results(tmp_path)


def test_tables_with_no_rows_keep_their_columns(tmp_path: Path, scenario) -> None:
    ens = run_ensemble(scenario, replicates=1)
    empty = Ensemble(
        model=ens.model,
        members=ens.members,
        events=ens.events.iloc[0:0],
        replicates=1,
        root_seed=1,
        jobs=1,
        until=None,
    )
    R.write_table(empty.events, tmp_path / "events.parquet", "events")
    back = pd.read_parquet(tmp_path / "events.parquet")
    assert list(back.columns) == list(ens.events.columns) and len(back) == 0


def test_git_commit_and_versions() -> None:
    commit, dirty = R.git_commit()
    assert commit is None or len(commit) == 40
    assert dirty in (None, True, False)
    assert "mesa" in R.package_versions()


def test_git_commit_without_git(monkeypatch) -> None:
    def no_git(*args, **kwargs):
        raise OSError("git not installed")

    monkeypatch.setattr(M.subprocess, "run", no_git)
    assert R.git_commit() == (None, None)
