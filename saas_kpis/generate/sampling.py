"""Random draws shared by the table simulations: weighted choices and business-hour instants."""

from __future__ import annotations

import numpy as np

from saas_kpis.generate.calendar import DAY, weekday


def choice(rng: np.random.Generator, options: tuple, weights: tuple, size: int) -> np.ndarray:
    """Weighted choice of ``size`` values from ``options``."""
    p = np.asarray(weights, dtype=float)
    return np.asarray(options)[rng.choice(len(options), size=size, p=p / p.sum())]


def time_of_day(rng: np.random.Generator, n: int) -> np.ndarray:
    """Seconds into the day, concentrated on (global) business hours in UTC."""
    hours = np.clip(rng.normal(14.0, 3.5, n), 0.0, 23.9997)
    return (hours * 3600).astype(np.int64)


def business_times(rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Random instants in ``[lo, hi)`` leaning to business hours and weekdays."""
    n = len(lo)
    span = hi - lo
    t = lo + (rng.random(n) * span).astype(np.int64)
    alt = (t // DAY) * DAY + time_of_day(rng, n)
    t = np.where((alt >= lo) & (alt < hi), alt, t)
    redraw = (weekday(t // DAY) >= 5) & (rng.random(n) < 0.6)
    t2 = lo + (rng.random(n) * span).astype(np.int64)
    return np.where(redraw, t2, t)
