"""Data logic of the city lakehouse: plain Python over Arrow, polars, Spark and Delta.

Nothing in this package imports Dagster, so it is tested and reused without it.
"""
