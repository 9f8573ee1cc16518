"""The calendar every source shares: one partition per local day in Almaty."""

from __future__ import annotations

from datetime import date, timedelta

import dagster as dg

daily_partitions = dg.DailyPartitionsDefinition(start_date="2019-01-01", timezone="Asia/Almaty")

# A backfill of many days runs as one run, so Spark starts once, not once a day.
single_run = dg.BackfillPolicy.single_run()


def partition_days(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext) -> list[date]:
    """The days of the partition (range) a run materialises, in order."""
    window = context.partition_time_window  # type: ignore[union-attr]
    first, end = window.start.date(), window.end.date()
    return [first + timedelta(days=i) for i in range((end - first).days)]
