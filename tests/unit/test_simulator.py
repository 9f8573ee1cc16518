"""The simulated city is deterministic and plants the relationships analysts look for."""

from datetime import date

import numpy as np

from pipelines.simulation.city import epidemic
from pipelines.sources.ambulance import RESIDUAL_KERNEL, expected_calls, simulate_day


def test_same_seed_same_day_same_file() -> None:
    assert simulate_day(date(2020, 7, 1), seed=11).equals(simulate_day(date(2020, 7, 1), seed=11))
    assert not simulate_day(date(2020, 7, 1), seed=11).equals(
        simulate_day(date(2020, 7, 1), seed=12)
    )


def test_volume_is_the_real_citys_before_the_pandemic() -> None:
    calls = simulate_day(date(2019, 11, 12)).unique("call_id").height
    assert 1_200 <= calls <= 1_700  # ~1,500 ambulance calls a day in Almaty


def test_the_summer_2020_wave_fills_the_lines_with_respiratory_calls() -> None:
    before = simulate_day(date(2020, 2, 12))
    wave = simulate_day(date(2020, 7, 8))
    assert wave.height > 1.5 * before.height
    share = lambda calls: calls["reason"].is_in(["respiratory", "fever"]).mean()  # noqa: E731
    assert share(wave) > 2 * share(before)


def test_calls_trail_morbidity_for_about_two_weeks() -> None:
    assert RESIDUAL_KERNEL[0] == RESIDUAL_KERNEL.max()  # same-day effect strongest
    assert np.isclose(RESIDUAL_KERNEL.sum(), 1.0)
    assert RESIDUAL_KERNEL[1:15].sum() > 0.5  # most of the effect is residual, over two weeks
    cases = epidemic(42).sum(axis=1)
    peak_day = date(2019, 1, 1).toordinal() + int(np.argmax(cases[:700]))
    peak = date.fromordinal(peak_day)
    after = date.fromordinal(peak_day + 10)
    city = lambda d: sum(expected_calls(42, i, d) for i in range(8))  # noqa: E731
    baseline = city(date(2019, 11, 12))
    assert city(after) - baseline > 0.4 * (city(peak) - baseline)


def test_some_calls_are_delivered_twice_and_in_local_spellings() -> None:
    calls = simulate_day(date(2020, 3, 2))
    assert calls.height > calls.unique("call_id").height
    assert calls["district"].str.contains("район").any()
