"""The seed files that are mutated: every shipped scenario and experiment file.

A :class:`Seed` is a shipped file (its bytes and parsed data) or a *slice* of one: a shipped
scenario cut to its header, members, actors and a window of a few events (still a valid
scenario). Slices are small, so the CI tests can afford thousands of cases on them; the full
files are mutated too, fewer times.

Experiment files: ``scenarios/experiments/*.yaml`` is read if it exists (the experiment
language, :mod:`cstosim.language.experiment`); without it :data:`EXPERIMENT_SEEDS` is empty and
the experiment tests skip, saying so (the hook for a tree without experiments).
"""

from __future__ import annotations

import copy
import shutil
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from cstosim.language.yamlio import parse_located

from .emit import emit

ROOT = Path(__file__).resolve().parents[2]
SCENARIO_DIR = ROOT / "scenarios"
EXPERIMENT_DIR = SCENARIO_DIR / "experiments"

SCENARIO_SEEDS: tuple[str, ...] = tuple(
    f"scenarios/{p.name}" for p in sorted(SCENARIO_DIR.glob("*.yaml"))
)
"""Every shipped scenario, as a path relative to the repository (incl. counterfactuals)."""
HEADER = "# yaml-language-server: $schema=../docs/scenario.schema.json\n"

EXPERIMENT_SEEDS: tuple[str, ...] = tuple(
    f"scenarios/experiments/{p.name}" for p in sorted(EXPERIMENT_DIR.glob("*.yaml"))
)
"""Every shipped experiment file; empty if the tree has none (the experiment hook)."""


@dataclass(frozen=True)
class Seed:
    """A file to mutate: where it lives in the workspace, its text and its data."""

    name: str  # e.g. "scenarios/csto-2022-2023.yaml" or "scenarios/example-triad.yaml[3:9]"
    path: str  # where the file and its mutations are written, relative to the workspace
    kind: str  # "scenario" or "experiment"
    text: bytes
    data: dict[str, Any] = field(hash=False, compare=False)

    @property
    def folder(self) -> str:
        return self.path.rsplit("/", 1)[0]

    @property
    def is_child(self) -> bool:
        return "extends" in self.data


@cache
def seed(name: str) -> Seed:
    """The shipped file ``name`` (relative to the repository) as a seed."""
    text = (ROOT / name).read_bytes()
    data, _ = parse_located(text.decode("utf-8"), name)
    kind = "experiment" if name.startswith("scenarios/experiments/") else "scenario"
    return Seed(name=name, path=name, kind=kind, text=text, data=data)


def all_seeds() -> list[Seed]:
    return [seed(n) for n in (*SCENARIO_SEEDS, *EXPERIMENT_SEEDS)]


@cache
def slice_seed(name: str, start: int, size: int = 6) -> Seed:
    """``name`` (a complete scenario) with only events ``start .. start+size`` and what they
    need: observations and ranges that name a dropped event are dropped too. Written beside
    the shipped file (``<stem>.slice-<start>.yaml``), so relative paths resolve alike."""
    import random

    full = seed(name)
    data = slice_data(full.data, start, size)
    text = HEADER + emit(data, random.Random(start), flow_share=0.7)
    stem = name.removesuffix(".yaml")
    return Seed(
        name=f"{name}[{start}:{start + size}]",
        path=f"{stem}.slice-{start}.yaml",
        kind=full.kind,
        text=text.encode("utf-8"),
        data=data,
    )


def slices(name: str, size: int = 6) -> list[Seed]:
    """Slices that cover every event of ``name`` (a scenario without ``extends``)."""
    count = len(seed(name).data.get("events") or [])
    return [slice_seed(name, start, size) for start in range(0, max(count, 1), size)]


def slice_data(data: dict[str, Any], start: int, size: int) -> dict[str, Any]:
    """The data of a slice (see :func:`slice_seed`): free text (notes, quotes, descriptions),
    unused sources and most ranges are left out too, to keep it short."""
    out = copy.deepcopy(data)
    kept = (out.get("events") or [])[start : start + size]
    ids = {e.get("id") for e in kept}
    out["events"] = kept
    observations = [
        o for o in out.get("observations") or [] if o.get("event") is None or o["event"] in ids
    ]
    out["observations"] = observations[: size // 2]
    ranges = out.get("ranges") or {}
    out["ranges"] = dict(
        list(
            (path, r)
            for path, r in ranges.items()
            if not path.startswith("events.") or path.split(".")[1] in ids
        )[:3]
    )
    for key in ("observations", "ranges"):
        if not out[key]:
            del out[key]
    _drop_text({k: v for k, v in out.items() if k != "ranges"})
    used = {e.get("source") for e in [*out["events"], *out.get("observations", [])]}
    out["sources"] = {k: v for k, v in out.get("sources", {}).items() if k in used} or dict(
        list(out.get("sources", {}).items())[:1]
    )
    return out


def _drop_text(node: Any) -> None:
    if isinstance(node, dict):
        for k in ("note", "quote", "description"):
            if isinstance(node.get(k), str):
                del node[k]
        for v in node.values():
            _drop_text(v)
    elif isinstance(node, list):
        for v in node:
            _drop_text(v)


def make_workspace(target: Path) -> Path:
    """Copy the shipped scenarios and experiments to ``target/scenarios`` (cases are written
    beside them, so that relative ``extends`` and ``scenario`` paths resolve); return target."""
    shutil.copytree(SCENARIO_DIR, target / "scenarios", dirs_exist_ok=True)
    return target
