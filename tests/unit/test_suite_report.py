"""The performance suite's report: a daily run that fails at some volume is a row that says so,
and the volumes that ran keep their figures."""

from __future__ import annotations

from benchmarks.suite import markdown


def test_a_failed_volume_is_reported_beside_those_that_ran() -> None:
    ran = {
        "scale": 1.0,
        "wall_s": 400.0,
        "run_s": 340.0,
        "steps_by_stage_s": {"silver": 120.0, "landing (simulators)": 50.0, "bronze": 30.0},
        "peak_gib": 3.8,
    }
    record = {
        "command": "benchmarks/suite.py --stages daily_growth",
        "machine": "test",
        "measured": "2026-12-02",
        "repeats": 1,
        "scale": 1.0,
        "daily_growth": {
            "1.0": ran,
            "2.0": {**ran, "scale": 2.0, "wall_s": 1000.0},
            "4.0": {
                "scale": 4.0,
                "failed": "lakehouse run failed (1):\n  None: Execution of run for "
                "\"city_daily\" failed. Steps failed: \n['silver_onay_taps'].",
            },
        },
    }

    rows = [line for line in markdown(record).splitlines() if line.startswith("| ")]

    assert "| 1.0 | 400.0 | 400.0 | 340.0 | 120.0 | 50.0 | 30.0 | 3.8 |" in rows
    assert "| 2.0 | 1000.0 | 500.0 | 340.0 | 120.0 | 50.0 | 30.0 | 3.8 |" in rows
    assert "| 4.0 | failed (steps 'silver_onay_taps') | | | | | | |" in rows
