"""The documented limits of scenario size (issue 13 item 5, docs/RELIABILITY.md): refused with a
located message that names the limit, before anything runs."""

from __future__ import annotations

import sys
from pathlib import Path

from click.testing import CliRunner

from cstosim.cli import main
from cstosim.language.scenario import MAX_MEMBER_MONTHS, MAX_MEMBERS

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from bounds import scenario


def cli(*args: str):
    return CliRunner().invoke(main, list(args))


def test_too_many_members_is_a_located_error(tmp_path: Path) -> None:
    path = tmp_path / "many.yaml"
    path.write_text(scenario(MAX_MEMBERS, 10, 1))  # the leader and MAX_MEMBERS others
    result = cli("validate", str(path))
    assert result.exit_code == 2
    assert result.output.strip() == (
        f"{path}:6:1: members: {MAX_MEMBERS + 1} entries; at most {MAX_MEMBERS} "
        "(a limit; docs/RELIABILITY.md)"
    )


def test_member_months_over_the_limit_are_refused(tmp_path: Path) -> None:
    years = MAX_MEMBER_MONTHS // (12 * 100) + 1  # 100 members and the leader
    path = tmp_path / "long.yaml"
    path.write_text(scenario(100, 10, years))
    result = cli("validate", str(path))
    assert result.exit_code == 2
    assert f"at most {MAX_MEMBER_MONTHS}" in result.output and ":6:1: members:" in result.output


def test_until_counts_towards_the_member_months(tmp_path: Path) -> None:
    path = tmp_path / "ok.yaml"
    path.write_text(scenario(100, 10, 20))  # 101 × 240 months: within the limit
    assert cli("validate", str(path)).exit_code == 0
    result = cli("run", str(path), "--until", "2199-12", "-n", "2", "--out", str(tmp_path / "o"))
    assert result.exit_code == 2
    assert result.output.startswith("error: --until 2199-12: 101 members over 2400 months")
    assert not (tmp_path / "o").exists()
