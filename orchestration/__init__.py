"""Dagster wiring of the lakehouse: resources, assets per domain, schedules, sensors, the CLI."""
