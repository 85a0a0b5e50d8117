"""The dashboard in a real Chromium: it loads offline without console errors, sliders and Run
update the chart, a broken scenario shows its located problems, the counterfactual page shows a
paired difference, one replicate steps in Mesa's SolaraViz, and tabs keep their own state.

Run alone with ``.venv/bin/python -m pytest tests/browser -v`` (see conftest.py for what they
need); timings go to ``tests/browser/screenshots/timings.txt``.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from conftest import SCREENSHOTS, Server, Watched, copy_to_docs
from playwright.sync_api import expect

from cstosim.language.loader import load_scenario
from cstosim.language.yamlio import ScenarioError

ROOT = Path(__file__).resolve().parents[2]

BROKEN = """\
schema_version: 1
name: broken
title: A broken scenario
sources: {s: {title: t}}
calendar: {start: 2020-01, end: 2020-06}
members:
  LDR: {name: Leader, joined: 2000-01, leading: true, dependence: 1.5}
"""


def record(name: str, seconds: float) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with (SCREENSHOTS / "timings.txt").open("a") as out:
        out.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {name}: {seconds:.2f} s\n")


def median(text: str) -> float:
    found = re.search(r"median ([+−-]?\d+\.\d+)", text)
    assert found, text
    return float(found.group(1).replace("−", "-"))


def open_page(w: Watched, server: Server, path: str = "", ready: str = ".cstosim-run") -> float:
    start = time.perf_counter()
    w.page.goto(server.url + path)
    w.page.locator(ready).first.wait_for()
    return time.perf_counter() - start


def assert_clean(w: Watched) -> None:
    assert w.errors == [], f"console errors: {w.errors}"
    assert w.outside == [], f"requests that left 127.0.0.1: {w.outside}"


def run_and_wait(page: Any, button: str, result: str, previous: str | None = None) -> float:
    start = time.perf_counter()
    page.locator(button).click()
    shown = page.locator(result)
    if previous is None:
        expect(shown).to_be_visible()
    else:
        expect(shown).not_to_have_text(previous)
    expect(page.locator(button)).to_be_enabled()
    return time.perf_counter() - start


def test_page_loads_offline_without_console_errors(watched: Watched, server: Server) -> None:
    seconds = open_page(watched, server)
    record("first answer of the server", server.first_page_s)
    record("page load to the Run button", seconds)
    page = watched.page
    expect(page).to_have_title("cstosim · ensemble")
    for name in ("Ensemble", "Counterfactual", "One replicate"):
        expect(page.get_by_role("tab", name=name)).to_be_visible()
    expect(page.locator(".cstosim-shipped")).to_contain_text("csto-2022-2023")
    expect(page.locator(".cstosim-command")).to_contain_text(
        "cstosim run scenarios/csto-2022-2023.yaml --replicates 1000 --seed 20231123"
    )
    watched.shot("01-loaded")
    assert_clean(watched)


def test_slider_and_run_update_the_chart(watched: Watched, server: Server) -> None:
    open_page(watched, server)
    page = watched.page
    seconds = run_and_wait(page, ".cstosim-run", ".cstosim-headline")
    record("Run, 1,000 replicates of the essay scenario, to the chart", seconds)
    headline = page.locator(".cstosim-headline")
    chart = page.locator(".cstosim-cohesion img")
    expect(chart).to_be_visible()
    before_text, before_image = headline.inner_text(), chart.get_attribute("src")
    expect(page.locator(".cstosim-rungs")).to_contain_text("ARM · Armenia")
    watched.shot("02-run")

    page.get_by_role("button", name="▸ Model-wide parameters").click()
    page.locator(".cstosim-parameters input[type=text]").fill("weight_outside")
    expect(page.locator(".cstosim-parameters [role=slider]")).to_have_count(1)
    thumb = page.locator(".slider-parameters-weight_outside [role=slider]")
    thumb.focus()
    thumb.press("End")  # the declared maximum, 5
    expect(page.get_by_text("weight_outside = 5  (scenario: 1)")).to_be_visible()
    expect(page.get_by_text("1 slider moved")).to_be_visible()
    expect(page.locator(".cstosim-command")).to_contain_text("--set parameters.weight_outside=5.0")
    run_and_wait(page, ".cstosim-run", ".cstosim-headline", previous=before_text)
    after_text = headline.inner_text()
    assert median(after_text) < median(before_text), (before_text, after_text)
    expect(chart).not_to_have_attribute("src", before_image or "")
    path = watched.shot("03-slider-and-run")
    copy_to_docs(path)
    assert_clean(watched)


def test_a_broken_scenario_shows_where_it_is_wrong(
    watched: Watched, server: Server, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(BROKEN)
    try:
        load_scenario(broken)
    except ScenarioError as exc:
        expected = [str(p) for p in exc.problems]
    assert any(":7:" in line and "members.LDR.dependence" in line for line in expected)
    open_page(watched, server)
    page = watched.page
    page.locator(".cstosim-path input").fill(str(broken))
    page.locator(".cstosim-open-button").click()
    problems = page.locator(".cstosim-problems")
    for line in expected:
        expect(problems).to_contain_text(line)
    assert "Traceback" not in page.locator("body").inner_text()
    watched.shot("04-broken-scenario")
    assert_clean(watched)


def _choose_b(page: Any, name: str) -> None:
    page.get_by_role("tab", name="B: counterfactual").click()
    page.locator(".cstosim-scenario-b .cstosim-shipped").click()
    page.get_by_role("option", name=name).click()
    expect(page.locator(".cstosim-scenario-b")).to_contain_text(f"{name}.yaml")


def test_the_counterfactual_shows_a_paired_difference(watched: Watched, server: Server) -> None:
    open_page(watched, server, "counterfactual", ".cstosim-run-pair")
    page = watched.page
    _choose_b(page, "csto-cf-armenia-answered")
    seconds = run_and_wait(page, ".cstosim-run-pair", ".cstosim-difference-headline")
    record("Run A and B, 2 × 1,000 replicates, to the difference chart", seconds)
    headline = page.locator(".cstosim-difference-headline").inner_text()
    assert headline.startswith("B − A, cohesion in 2023-11")
    assert median(headline) > 0, headline  # an answered call raises cohesion
    expect(page.locator(".cstosim-difference img")).to_be_visible()
    assert page.locator(".cstosim-changes td.up, .cstosim-changes td.down").count() > 0
    watched.shot("05-counterfactual")
    assert_clean(watched)


def test_the_same_scenario_twice_differs_by_exactly_zero(watched: Watched, server: Server) -> None:
    open_page(watched, server, "counterfactual", ".cstosim-run-pair")
    page = watched.page
    replicates = page.locator(".cstosim-replicates input")
    replicates.fill("200")
    replicates.press("Enter")
    run_and_wait(page, ".cstosim-run-pair", ".cstosim-difference-headline")
    expect(page.locator(".cstosim-difference-headline")).to_contain_text(
        "median +0.000 (50 % band +0.000 to +0.000, 90 % band +0.000 to +0.000); 200 paired"
    )
    assert_clean(watched)


def test_one_replicate_steps_month_by_month(watched: Watched, server: Server) -> None:
    open_page(watched, server, "replicate", "button:has-text('Step')")
    page = watched.page
    network = page.locator(".cstosim-network img")
    expect(network).to_be_visible()
    before = network.get_attribute("src")
    step = page.get_by_role("button", name="Step")
    for month in (1, 2, 3):
        step.click()
        expect(page.get_by_text(f"Time: {month}")).to_be_visible()
    expect(network).not_to_have_attribute("src", before or "")
    watched.shot("06-one-replicate")
    assert_clean(watched)


def test_each_tab_keeps_its_own_state(watched: Watched, server: Server) -> None:
    open_page(watched, server)
    first = watched.page
    seed = first.locator(".cstosim-seed input")
    seed.fill("42")
    seed.press("Enter")
    expect(first.locator(".cstosim-command")).to_contain_text("--seed 42")
    second = first.context.new_page()  # another tab of the same browser: another kernel
    second.goto(server.url)
    expect(second.locator(".cstosim-command")).to_contain_text("--seed 20231123")
    expect(first.locator(".cstosim-command")).to_contain_text("--seed 42")
    second.close()
    assert_clean(watched)
