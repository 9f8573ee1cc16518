"""The latent city every simulator draws from: an epidemic with the 2020-2022 waves and the
quarantine regimes of Almaty, per district and day.

The relationships the analysts look for are planted here, so tests can check they are found:
ambulance calls rise with morbidity on the same day and trail it for about two weeks.
Everything is a pure function of the seed, so any day can be simulated on its own and a
re-run of a day gives the same files.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

import numpy as np

from contracts.districts import DISTRICTS

EPOCH = date(2019, 1, 1)
HORIZON = date(2023, 12, 31)

# (first day, reproduction number while in force); Almaty's regimes, simplified.
REPRODUCTION_SCHEDULE: tuple[tuple[date, float], ...] = (
    (date(2019, 1, 1), 0.0),  # no virus yet
    (date(2020, 3, 10), 2.8),  # first imported cases
    (date(2020, 3, 19), 1.15),  # state of emergency, city closed
    (date(2020, 5, 11), 1.6),  # reopening
    (date(2020, 6, 1), 2.0),  # summer wave
    (date(2020, 7, 5), 0.75),  # second quarantine
    (date(2020, 8, 17), 0.95),
    (date(2020, 10, 15), 1.3),  # autumn wave
    (date(2021, 1, 1), 0.9),
    (date(2021, 2, 15), 1.15),
    (date(2021, 4, 15), 0.85),
    (date(2021, 6, 1), 1.35),  # Delta
    (date(2021, 8, 1), 0.8),
    (date(2021, 10, 1), 1.0),
    (date(2022, 1, 3), 2.2),  # Omicron
    (date(2022, 1, 24), 0.6),
    (date(2022, 3, 1), 0.95),
)

# Restriction level 0..1 (1 = full lockdown), which the mobility signal follows.
RESTRICTIONS: tuple[tuple[date, date, float], ...] = (
    (date(2020, 3, 19), date(2020, 5, 10), 1.0),
    (date(2020, 5, 11), date(2020, 7, 4), 0.4),
    (date(2020, 7, 5), date(2020, 8, 16), 0.8),
    (date(2020, 8, 17), date(2020, 12, 31), 0.3),
    (date(2021, 1, 1), date(2021, 8, 31), 0.25),
)

INCUBATION_DAYS = 4.0
INFECTIOUS_DAYS = 5.0
IMMUNITY_DAYS = 300.0
DETECTED_SHARE = 0.2  # share of infections that become registered cases


@dataclass(frozen=True)
class DistrictDay:
    """The latent state of one district on one day."""

    new_cases: float  # registered new cases (the morbidity the city measures)
    restriction: float  # 0..1


def _reproduction_number(day: date) -> float:
    value = 0.0
    for start, r in REPRODUCTION_SCHEDULE:
        if day >= start:
            value = r
    return value


def restriction_level(day: date) -> float:
    return max((level for start, end, level in RESTRICTIONS if start <= day <= end), default=0.0)


@lru_cache(maxsize=8)
def epidemic(seed: int) -> np.ndarray:
    """Registered new cases, shape (days since EPOCH, district), from a seeded SEIRS model."""
    rng = np.random.default_rng([seed, 0xC17])
    n_days = (HORIZON - EPOCH).days + 1
    pop = np.array([d.population for d in DISTRICTS], dtype=float)
    # Denser central districts spread a little faster; fixed per seed.
    density = 1.0 + 0.15 * rng.standard_normal(len(DISTRICTS)).clip(-1.5, 1.5)
    s, e, i, r = pop.copy(), np.zeros_like(pop), np.zeros_like(pop), np.zeros_like(pop)
    cases = np.zeros((n_days, len(DISTRICTS)))
    sigma, gamma, omega = 1 / INCUBATION_DAYS, 1 / INFECTIOUS_DAYS, 1 / IMMUNITY_DAYS
    for t in range(n_days):
        day = EPOCH + timedelta(days=t)
        if day == date(2020, 3, 10):
            e += 20.0
        beta = _reproduction_number(day) * gamma * density
        # A little mixing between districts: residents work and shop across the city.
        force = beta * (0.8 * i / pop + 0.2 * i.sum() / pop.sum())
        new_exposed = force * s
        new_infectious = sigma * e
        new_recovered = gamma * i
        waned = omega * r
        s += waned - new_exposed
        e += new_exposed - new_infectious
        i += new_infectious - new_recovered
        r += new_recovered - waned
        cases[t] = DETECTED_SHARE * new_infectious
    return cases


def district_day(seed: int, district_index: int, day: date) -> DistrictDay:
    t = (day - EPOCH).days
    if not 0 <= t <= (HORIZON - EPOCH).days:
        raise ValueError(f"the simulated city covers {EPOCH}..{HORIZON}, not {day}")
    return DistrictDay(float(epidemic(seed)[t, district_index]), restriction_level(day))


def trailing_cases(seed: int, district_index: int, day: date, kernel: np.ndarray) -> float:
    """Cases of the day and the days before, weighted by `kernel` (kernel[0] is the same day)."""
    t = (day - EPOCH).days
    series = epidemic(seed)[:, district_index]
    window = series[max(0, t - len(kernel) + 1) : t + 1][::-1]
    return float(np.dot(window, kernel[: len(window)]))
