"""The scenario panel: choose a scenario, see its problems, move its sliders.

One :func:`ScenarioPanel` edits one :class:`~.settings.Settings` reactive (scenario A or B).
Sliders start at the scenario's own values and span the ranges the language declares; the moves
are listed as the ``--set`` options that ``cstosim run`` would take.
"""

from __future__ import annotations

import html
import re
from typing import Any

import solara

from cstosim.views.dashboard.catalogue import (
    Opened,
    display_path,
    open_scenario,
    shipped_scenarios,
)
from cstosim.views.dashboard.controls import (
    SliderSpec,
    member_choices,
    member_sliders,
    parameter_sliders,
)
from cstosim.views.dashboard.settings import RunOptions, Settings


def css_name(key: str) -> str:
    """A CSS class fragment for a slider key (``parameters.alignment_noise`` →
    ``parameters-alignment_noise``), for tests and styling."""
    return re.sub(r"[^A-Za-z0-9_-]", "-", key)


@solara.component
def Heading(text: str) -> None:
    """A small heading (plain HTML: ``solara.Markdown`` would fetch KaTeX, which Solara's
    offline assets lack)."""
    solara.HTML(tag="h4", unsafe_innerHTML=html.escape(text), style="margin: 12px 0 4px 0;")


@solara.component
def Problems(lines: tuple[str, ...] | list[str], title: str) -> None:
    """Problems as ``file:line:column: field: message`` lines, in an error box (no traceback)."""
    with solara.Error(classes=["cstosim-problems"]):
        solara.Text(title)
        body = "\n".join(html.escape(line) for line in lines)
        solara.HTML(
            tag="pre",
            unsafe_innerHTML=body,
            style="white-space: pre-wrap; font-size: 12px; margin: 4px 0 0 0;",
        )


@solara.component
def ScenarioPicker(settings: solara.Reactive[Settings]) -> None:
    """A shipped scenario from a list, or any file by its path (opened with the button)."""
    shipped = shipped_scenarios()
    current = settings.value.path
    chosen = next((name for name, path in shipped.items() if str(path) == current), None)
    typed, set_typed = solara.use_state(current if chosen is None else "")

    def choose(name: str | None) -> None:
        if name is not None and name in shipped:
            settings.set(settings.value.with_path(str(shipped[name])))

    def open_typed() -> None:
        settings.set(settings.value.with_path(typed.strip()))

    solara.Select(
        label="Shipped scenario",
        values=list(shipped),
        value=chosen,
        on_value=choose,
        classes=["cstosim-shipped"],
    )
    with solara.Row(classes=["cstosim-open"], style={"align-items": "center"}):
        solara.InputText(
            label="…or a scenario file on disk",
            value=typed,
            on_value=set_typed,
            continuous_update=True,
            classes=["cstosim-path"],
        )
        solara.Button(
            "Open",
            on_click=open_typed,
            disabled=not typed.strip(),
            color="primary",
            outlined=True,
            classes=["cstosim-open-button"],
        )
    with solara.Row(style={"align-items": "center"}):
        solara.Text(f"File: {display_path(current) or '(none)'}", style={"font-size": "12px"})
        solara.Button(
            "Reload",
            on_click=lambda: settings.set(settings.value.reloaded()),
            text=True,
            small=True,
            classes=["cstosim-reload"],
        )


@solara.component
def Slider(spec: SliderSpec, settings: solara.Reactive[Settings]) -> None:
    """One slider: label with its value (and the scenario's when moved), range from the spec."""
    value = spec.clamp(settings.value.value(spec.key, spec.value))
    moved = spec.key in dict(settings.value.overrides)

    def on_value(new: float) -> None:
        value = new if spec.moved(new) else spec.value  # a snap to the grid is not a move
        settings.set(settings.value.moved(spec.key, value, spec.value))

    label = f"{spec.label} = {value:g}" + (f"  (scenario: {spec.value:g})" if moved else "")
    css = ["cstosim-slider", f"slider-{css_name(spec.key)}"]
    with solara.Column(classes=css, gap="0px"):
        solara.SliderFloat(
            label,
            value=value,
            min=spec.minimum,
            max=spec.maximum,
            step=spec.step,
            on_value=on_value,
            thumb_label=False,
        )
        if spec.description:
            solara.Text(
                f"{spec.description} [{spec.minimum:g}, {spec.maximum:g}]",
                style={"font-size": "11px", "color": "#666", "margin-top": "-14px"},
            )


@solara.component
def SliderGroup(
    specs: list[SliderSpec], settings: solara.Reactive[Settings], filter_label: str
) -> None:
    """Sliders with a filter on name and description."""
    query, set_query = solara.use_state("")
    solara.InputText(filter_label, value=query, on_value=set_query, continuous_update=True)
    q = query.strip().lower()
    shown = [s for s in specs if not q or q in s.key.lower() or q in s.description.lower()]
    for spec in shown:
        Slider(spec, settings)
    if not shown:
        solara.Text(f"no slider matches {query!r}")


@solara.component
def Section(summary: str, css: str, children: list[Any] | None = None) -> None:
    """A collapsible section whose content is rendered only while it is open (the sliders are
    many: a closed section costs the page nothing)."""
    is_open, set_open = solara.use_state(False)
    with solara.Column(classes=["cstosim-section", css], gap="0px"):
        solara.Button(
            ("▾ " if is_open else "▸ ") + summary,
            on_click=lambda: set_open(not is_open),
            text=True,
            classes=["cstosim-section-toggle"],
            style={"justify-content": "flex-start", "text-transform": "none"},
        )
        if is_open:
            solara.Column(children=children or [], gap="4px")


@solara.component
def ScenarioPanel(settings: solara.Reactive[Settings], title: str, css: str) -> None:
    """Picker, problems, member choice and sliders for one scenario (A or B)."""
    s = settings.value
    base: Opened = open_scenario(s.path, (), s.revision)
    with solara.Card(title, classes=["cstosim-panel", css], margin=0):
        ScenarioPicker(settings)
        if base.scenario is None:
            Problems(base.problems, f"{s.path or 'No file'} does not load:")
            return
        scenario = base.scenario
        solara.Text(scenario.title, style={"font-style": "italic", "font-size": "13px"})
        codes = member_choices(scenario)
        member = s.member if s.member in codes else (codes[0] if codes else None)
        moves = len(s.overrides)
        with solara.Row(style={"align-items": "center"}):
            solara.Text(f"{moves} slider{'s' if moves != 1 else ''} moved")
            solara.Button(
                "Reset sliders",
                on_click=lambda: settings.set(settings.value.reset()),
                disabled=not moves,
                text=True,
                small=True,
                classes=["cstosim-reset"],
            )
        with Section("Model-wide parameters", "cstosim-parameters"):
            SliderGroup(parameter_sliders(scenario), settings, "filter parameters")
        with Section("A member's fields", "cstosim-members"):
            solara.Select(
                label="Member",
                values=codes,
                value=member,
                on_value=lambda code: settings.set(settings.value.with_member(code)),
                classes=["cstosim-member"],
            )
            if member is not None:
                name = scenario.members[member].name
                solara.Text(f"{member}: {name}", style={"font-size": "12px"})
                SliderGroup(member_sliders(scenario, member), settings, "filter fields")


@solara.component
def RunOptionsPanel(options: solara.Reactive[RunOptions]) -> None:
    """Replicates and root seed (one seed for A and B: they are then paired)."""
    o = options.value

    def set_replicates(value: int | None) -> None:
        if value is not None:
            options.set(RunOptions(value, o.seed).valid())

    def set_seed(value: int | None) -> None:
        if value is not None:
            options.set(RunOptions(o.replicates, value).valid())

    with solara.Card("Ensemble", classes=["cstosim-options"], margin=0):
        solara.InputInt(
            "Replicates",
            value=o.replicates,
            on_value=set_replicates,
            classes=["cstosim-replicates"],
        )
        solara.InputInt("Root seed", value=o.seed, on_value=set_seed, classes=["cstosim-seed"])
