"""The exact arithmetic of a change between two periods: pure functions on numbers.

Every function returns a `Decomposition` whose components add up to the change of the metric,
`total_change`, which the caller takes from the metric's own values; `residual` (the total minus
the sum of the components) is then a check, ~0 up to float rounding, and is printed.

* `terms`: a metric that is a sum of terms (with signs); each component is the change of a term.
* `product`: a metric A x B (x scale), split symmetrically: dA (B0 + B1)/2 + dB (A0 + A1)/2.
* `additive_segments`: a sum or count over segments; each component is a segment's change.
* `ratio_segments`: a ratio R = N / D = sum_s w_s r_s with w_s = D_s / D and r_s = N_s / D_s; each
  segment contributes dw_s (r_s0 + r_s1)/2 (mix) + (w_s0 + w_s1)/2 dr_s (rate). A segment without
  denominator in one period takes there the rate of the other period (its weight there is 0, so
  the identity holds for any rate); without denominator in both it contributes 0. A numerator in
  a segment without denominator (R = sum_s N_s / D still counts it) adds the change of N_s / D
  as an effect of its own, so the components still add up.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field


class UndefinedValue(ValueError):
    """A value needed by a decomposition is NULL (a ratio whose denominator is 0)."""


@dataclass(frozen=True)
class Component:
    """One part of a change: a formula term or a segment."""

    label: str
    contribution: float
    base: float | None = None  # the term's value, or the segment's value / rate, in the base period
    current: float | None = None  # the same in the period explained
    mix: float | None = None  # ratio segments: the weight (mix) effect
    rate: float | None = None  # ratio segments: the rate effect
    weight_base: float | None = None  # ratio segments: share of the denominator
    weight_current: float | None = None
    note: str = ""


@dataclass(frozen=True)
class Decomposition:
    title: str  # what is decomposed, and how (the formula)
    method: str  # "terms", "product", "additive segments", "ratio segments", "segment values"
    components: tuple[Component, ...]
    total_change: float | None
    dimension: str | None = None
    notes: tuple[str, ...] = field(default=())
    exact: bool = True  # False: the components are shown but are not meant to add up

    @property
    def explained(self) -> float:
        return sum(component.contribution for component in self.components)

    @property
    def residual(self) -> float | None:
        if self.total_change is None or not self.exact:
            return None
        return self.total_change - self.explained


def change(base: float | None, current: float | None) -> float | None:
    return None if base is None or current is None else current - base


def _defined(label: str, *values: float | None) -> None:
    if any(value is None for value in values):
        raise UndefinedValue(f"{label} is NULL in one of the two periods")


def terms(
    title: str,
    total_change: float | None,
    parts: Sequence[tuple[str, float | None, float | None, int]],
    notes: Sequence[str] = (),
) -> Decomposition:
    """parts: (label, base value, current value, sign); the metric is the signed sum of the terms
    plus a constant."""
    components = []
    for label, base, current, sign in parts:
        _defined(label, base, current)
        components.append(
            Component(label, sign * (current - base), base=sign * base, current=sign * current)  # type: ignore[operator]
        )
    return Decomposition(title, "terms", tuple(components), total_change, notes=tuple(notes))


def product(
    title: str,
    total_change: float | None,
    first: tuple[str, float | None, float | None],
    second: tuple[str, float | None, float | None],
    scale: float = 1.0,
    notes: Sequence[str] = (),
) -> Decomposition:
    """scale x A x B: the A effect dA (B0 + B1)/2 scale and the B effect dB (A0 + A1)/2 scale."""
    (label_a, a0, a1), (label_b, b0, b1) = first, second
    _defined(label_a, a0, a1)
    _defined(label_b, b0, b1)
    effect_a = (a1 - a0) * (b0 + b1) / 2 * scale  # type: ignore[operator]
    effect_b = (b1 - b0) * (a0 + a1) / 2 * scale  # type: ignore[operator]
    return Decomposition(
        title,
        "product",
        (
            Component(f"{label_a} effect", effect_a, base=a0, current=a1),
            Component(f"{label_b} effect", effect_b, base=b0, current=b1),
        ),
        total_change,
        notes=tuple(notes),
    )


def additive_segments(
    dimension: str,
    total_change: float | None,
    values: Mapping[str, tuple[float | None, float | None]],
    overlap: bool = False,
) -> Decomposition:
    """values: segment -> (base, current); a missing or NULL value is 0 (a sum over nothing).

    With `overlap` (a distinct count, where an entity counts once in each segment it had), the
    total minus the segments' sum is shown as a component of its own, labelled as such."""
    components = []
    for segment in sorted(values):
        base, current = (value or 0.0 for value in values[segment])
        note = "appears" if base == 0 and current != 0 else ""
        note = "disappears" if current == 0 and base != 0 else note
        components.append(Component(segment, current - base, base=base, current=current, note=note))
    notes: tuple[str, ...] = ()
    if overlap and total_change is not None:
        rest = total_change - sum(component.contribution for component in components)
        components.append(Component("(counted in several segments)", rest, note="distinct count"))
        notes = ("a distinct count: an entity in several segments counts once in each of them",)
    return Decomposition(
        f"change of each {dimension} value",
        "additive segments",
        tuple(components),
        total_change,
        dimension=dimension,
        notes=notes,
    )


def ratio_segments(
    dimension: str,
    total_change: float | None,
    cells: Mapping[str, tuple[float | None, float | None, float | None, float | None]],
) -> Decomposition:
    """cells: segment -> (numerator base, denominator base, numerator current, denominator
    current); a missing or NULL sum is 0."""
    clean = {s: tuple(v or 0.0 for v in cell) for s, cell in cells.items()}
    total_base = sum(cell[1] for cell in clean.values())
    total_current = sum(cell[3] for cell in clean.values())
    if total_base == 0 or total_current == 0:
        raise UndefinedValue("the denominator is 0 in one of the two periods")
    components = []
    notes = []
    for segment in sorted(clean):
        n0, d0, n1, d1 = clean[segment]
        w0, w1 = d0 / total_base, d1 / total_current
        # A numerator where the segment has no denominator (tickets of accounts that pay nothing)
        # still adds N_s / D to the ratio: its change is shown as an effect of its own.
        orphan = (0.0 if d1 else n1 / total_current) - (0.0 if d0 else n0 / total_base)
        orphan_note = f"numerator without denominator: {orphan:+.6g}" if orphan else ""
        r0 = n0 / d0 if d0 else None
        r1 = n1 / d1 if d1 else None
        if r0 is None and r1 is None:
            note = "; ".join(filter(None, ("no denominator in either period", orphan_note)))
            components.append(
                Component(segment, orphan, weight_base=0.0, weight_current=0.0, note=note)
            )
            continue
        note = ""
        if r0 is None:
            r0, note = r1, "appears (base rate := its current rate)"
        elif r1 is None:
            r1, note = r0, "disappears (current rate := its base rate)"
        mix = (w1 - w0) * (r0 + r1) / 2  # type: ignore[operator]
        rate = (w0 + w1) / 2 * (r1 - r0)  # type: ignore[operator]
        components.append(
            Component(
                segment,
                mix + rate + orphan,
                base=r0,
                current=r1,
                mix=mix,
                rate=rate,
                weight_base=w0,
                weight_current=w1,
                note="; ".join(filter(None, (note, orphan_note))),
            )
        )
    if any("numerator without denominator" in c.note for c in components):
        notes.append(
            "a segment with a numerator and no denominator adds N_s / D to the ratio; "
            "the change of that share is its own effect (not mix, not rate)"
        )
    return Decomposition(
        f"mix and rate effect of each {dimension} value",
        "ratio segments",
        tuple(components),
        total_change,
        dimension=dimension,
        notes=tuple(notes),
    )


def segment_values(
    dimension: str,
    total_change: float | None,
    values: Mapping[str, tuple[float | None, float | None]],
    reason: str,
) -> Decomposition:
    """A metric with no exact split by segment: each segment's values and change, not summed."""
    components = tuple(
        Component(segment, change(*values[segment]) or 0.0, *values[segment])
        for segment in sorted(values)
    )
    return Decomposition(
        f"values of each {dimension} value (no exact decomposition: {reason})",
        "segment values",
        components,
        total_change,
        dimension=dimension,
        exact=False,
    )
