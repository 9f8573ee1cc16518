"""UCS silver on Spark (and in DuckDB on one node, below): each day's delivered changes
MERGEd into one current row per talent, company, job and course (the newest `updated_at`
wins), and the skills of talents and jobs normalised into one row per record and skill, for
skills supply against demand."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import date

from delta.tables import DeltaTable
from pyspark.sql import Column as SparkColumn
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from contracts.model import Contract
from contracts.ucs import (
    LIST_SEPARATOR,
    SKILL_KEYS,
    UCS_COMPANIES,
    UCS_COURSES,
    UCS_JOBS,
    UCS_TALENTS,
)
from pipelines.duckdb_lake import sql_literal
from pipelines.lake import Lake
from pipelines.lake.locks import TableLock
from pipelines.settings import LakehouseSettings
from pipelines.spark_districts import with_canonical_district


def delivered_days(
    spark: SparkSession, lake: Lake, contract: Contract, days: list[date]
) -> DataFrame:
    """The bronze rows delivered on the given landing days (a change feed is read by delivery,
    so a change that arrives late is merged with the day it arrived)."""
    bronze = spark.read.format("delta").load(lake.spark_uri("bronze", contract.table))
    return bronze.where(F.col("landing_date").isin([d.isoformat() for d in days]))


def latest_per_key(bronze: DataFrame, key: str) -> DataFrame:
    """The newest version of each record among the delivered ones (the last delivered wins a
    tie)."""
    newest = Window.partitionBy(key).orderBy(
        *(F.desc(c) for c in ("updated_at", "landing_date", "_source_file", "_source_row"))
    )
    return (
        bronze.withColumn("_version", F.row_number().over(newest))
        .where("_version = 1")
        .drop("_version")
    )


def _sql_text(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


# The vocabulary's spellings as one SQL map literal: parsed once per plan, not 400 py4j calls.
_SPELLINGS = (
    "map(" + ", ".join(f"{_sql_text(k)}, {_sql_text(v)}" for k, v in SKILL_KEYS.items()) + ")"
)


def skill_list(column: str) -> SparkColumn:
    """A semicolon-separated skill list as an array in the vocabulary's spelling."""
    spelled = f"try_element_at({_SPELLINGS}, lower(regexp_replace(trim(s), '\\\\s+', ' ')))"
    return F.expr(
        f"array_distinct(filter(transform(split(`{column}`, '{LIST_SEPARATOR}'), s -> {spelled}), "
        "s -> s IS NOT NULL))"
    )


def id_list(column: str) -> SparkColumn:
    ids = F.transform(F.split(F.col(column), LIST_SEPARATOR), lambda s: F.trim(s))
    return F.coalesce(ids, F.array().cast("array<string>"))


def silver_talents(spark: SparkSession, bronze: DataFrame) -> DataFrame:
    """One row per talent: the newest delivered version, districts and skills canonical."""
    latest = with_canonical_district(spark, latest_per_key(bronze, "talent_id"))
    return latest.select(
        "talent_id",
        F.col("full_name").alias("name_pseudonym"),
        F.col("email").alias("email_pseudonym"),
        "district",
        "district_code",
        F.col("birth_year").cast("int").alias("birth_year"),
        "education_level",
        "university",
        skill_list("skills").alias("skills"),
        id_list("courses_taken").alias("courses_taken"),
        F.col("years_experience").cast("int").alias("years_experience"),
        "profile_text",
        "created_at",
        "updated_at",
        "updated_date",
        "landing_date",
    )


def silver_companies(spark: SparkSession, bronze: DataFrame) -> DataFrame:
    latest = with_canonical_district(spark, latest_per_key(bronze, "company_id"))
    return latest.select(
        "company_id",
        "name",
        "industry",
        "district",
        "district_code",
        F.col("employees").cast("int").alias("employees"),
        "created_at",
        "updated_at",
        "updated_date",
        "landing_date",
    )


def silver_jobs(spark: SparkSession, bronze: DataFrame) -> DataFrame:
    latest = with_canonical_district(spark, latest_per_key(bronze, "job_id"))
    return latest.select(
        "job_id",
        "company_id",
        "title",
        "description",
        skill_list("required_skills").alias("required_skills"),
        "district",
        "district_code",
        "salary_min_kzt",
        "salary_max_kzt",
        "employment_type",
        "status",
        (F.col("status") == "open").alias("is_open"),
        "posted_at",
        F.to_date(F.from_utc_timestamp("posted_at", UCS_JOBS.timezone)).alias("posted_date"),
        "updated_at",
        "updated_date",
        "landing_date",
    )


def silver_courses(spark: SparkSession, bronze: DataFrame) -> DataFrame:
    return latest_per_key(bronze, "course_id").select(
        "course_id",
        "university",
        "title",
        "description",
        skill_list("skills_taught").alias("skills_taught"),
        F.col("hours").cast("int").alias("hours"),
        "format",
        "created_at",
        "updated_at",
        "updated_date",
        "landing_date",
    )


def _commit_lock(settings: LakehouseSettings, table: str) -> AbstractContextManager[object]:
    """Spark commits to a table on MinIO hold the table lock (see `pipelines.lake.locks`)."""
    if settings.is_s3:
        return TableLock(settings, f"silver/{table}").held()
    return nullcontext()


def merge_latest(frame: DataFrame, lake: Lake, table: str, key: str) -> int:
    """Upsert one row per key into a silver table, keeping the newest `updated_at`; the first
    write creates the table. Returns the new table version.

    Re-running a day merges the same versions again: the table keeps one row per key and the
    newest version of each, whatever the order days are (re)run in.
    """
    uri = lake.spark_uri("silver", table)
    with _commit_lock(lake.settings, table):
        if not lake.table_exists("silver", table):
            frame.write.format("delta").mode("append").save(uri)
        else:
            (
                DeltaTable.forPath(frame.sparkSession, uri)
                .alias("t")
                .merge(frame.alias("s"), f"t.{key} = s.{key}")
                .whenMatchedUpdateAll(condition="s.updated_at >= t.updated_at")
                .whenNotMatchedInsertAll()
                .execute()
            )
    return lake.delta_table("silver", table).version()


def replace_table(frame: DataFrame, lake: Lake, table: str) -> int:
    """Overwrite a silver table derived from another in one commit; returns its version."""
    with _commit_lock(lake.settings, table):
        frame.write.format("delta").mode("overwrite").save(lake.spark_uri("silver", table))
    return lake.delta_table("silver", table).version()


def _rows(lake: Lake, layer: str, table: str, days: list[date] | None = None) -> int:
    """Rows of a Delta table (of some landing days), read through delta-rs: no Spark job."""
    if days is None:
        return lake.read(layer, table, columns=[]).num_rows
    return lake.read(layer, table, date_column="landing_date", days=days, columns=[]).num_rows


@dataclass(frozen=True)
class SkillTable:
    """A silver table with one row per record and skill, derived from an array column."""

    table: str
    array_column: str


def merge_day_changes(
    spark: SparkSession,
    lake: Lake,
    contract: Contract,
    days: list[date],
    to_silver: Callable[[SparkSession, DataFrame], DataFrame],
    skill_tables: tuple[SkillTable, ...] = (),
) -> dict[str, int]:
    """Merge the changes delivered on `days` into the source's silver table, and derive its
    skill tables from the merged result; returns row counts and table versions."""
    key, table = contract.keys[0], contract.table  # a change is keyed (record id, updated_at)
    changes = to_silver(spark, delivered_days(spark, lake, contract, days)).cache()
    try:
        unknown = F.col("district").isNull() if "district" in changes.columns else F.lit(False)
        counts = changes.agg(
            F.count("*").alias("records"),
            F.sum(unknown.cast("int")).alias("unknown_districts"),
        ).first()
        assert counts is not None  # an aggregate has one row
        if counts["unknown_districts"]:
            raise ValueError(
                f"[{contract.source}] silver: {counts['unknown_districts']} bronze rows have a "
                "district the normalisation does not know; the bronze contract should have "
                "quarantined them"
            )
        changed = int(counts["records"])
        if changed or not lake.table_exists("silver", table):
            version = merge_latest(changes, lake, table, key)
        else:
            version = lake.delta_table("silver", table).version()
    finally:
        changes.unpersist()
    stats = {"bronze_rows": _rows(lake, "bronze", table, days), "records_changed": changed}
    stats["superseded_versions"] = stats["bronze_rows"] - changed
    stats[f"{table}_version"] = version
    stats[f"{table}_rows"] = _rows(lake, "silver", table)
    current = spark.read.format("delta").load(lake.spark_uri("silver", table))
    for skills in skill_tables:
        if changed or not lake.table_exists("silver", skills.table):
            # Rebuilt whole from the current versions, so a skill dropped from a profile goes.
            rows = current.select(key, F.explode(skills.array_column).alias("skill"), "updated_at")
            stats[f"{skills.table}_version"] = replace_table(rows, lake, skills.table)
        stats[f"{skills.table}_rows"] = _rows(lake, "silver", skills.table)
    return stats


TALENT_SKILLS = SkillTable("ucs_talent_skills", "skills")
JOB_SKILLS = SkillTable("ucs_job_skills", "required_skills")


def build_talents_silver(spark: SparkSession, lake: Lake, days: list[date]) -> dict[str, int]:
    return merge_day_changes(spark, lake, UCS_TALENTS, days, silver_talents, (TALENT_SKILLS,))


def build_companies_silver(spark: SparkSession, lake: Lake, days: list[date]) -> dict[str, int]:
    return merge_day_changes(spark, lake, UCS_COMPANIES, days, silver_companies)


def build_jobs_silver(spark: SparkSession, lake: Lake, days: list[date]) -> dict[str, int]:
    return merge_day_changes(spark, lake, UCS_JOBS, days, silver_jobs, (JOB_SKILLS,))


def build_courses_silver(spark: SparkSession, lake: Lake, days: list[date]) -> dict[str, int]:
    return merge_day_changes(spark, lake, UCS_COURSES, days, silver_courses)


# -- silver on one node ------------------------------------------------------------------------
# The same jobs in DuckDB (see `pipelines.duckdb_io`), the MERGE done by delta-rs.
_DUCK_SPELLINGS = (
    "MAP {" + ", ".join(f"{sql_literal(k)}: {sql_literal(v)}" for k, v in SKILL_KEYS.items()) + "}"
)


def duck_skill_list(column: str) -> str:
    """SQL: `skill_list` in DuckDB (vocabulary spelling, unknown dropped, first occurrence
    kept in order, NULL for a NULL list). Reads the map from the one-row table `skill_vocab`
    (a MAP literal in the expression is built again for every element: 600x slower)."""
    spelled = (
        f"list_filter(list_transform(string_split({column}, '{LIST_SEPARATOR}'), "
        "lambda s: map_extract_value(skill_vocab.spellings, "
        "lower(regexp_replace(trim(s), '\\s+', ' ', 'g')))), lambda s: s IS NOT NULL)"
    )
    return f"list_filter({spelled}, lambda x, i: list_position({spelled}, x) = i)"


def duck_id_list(column: str) -> str:
    return (
        f"coalesce(list_transform(string_split({column}, '{LIST_SEPARATOR}'), "
        "lambda s: trim(s)), CAST([] AS VARCHAR[]))"
    )


_DUCK_SELECTS = {
    UCS_TALENTS.table: f"""talent_id, full_name AS name_pseudonym, email AS email_pseudonym,
        district, district_code, CAST(birth_year AS INTEGER) AS birth_year, education_level,
        university, {duck_skill_list("skills")} AS skills,
        {duck_id_list("courses_taken")} AS courses_taken,
        CAST(years_experience AS INTEGER) AS years_experience, profile_text, created_at,
        updated_at, updated_date, landing_date""",
    UCS_COMPANIES.table: """company_id, name, industry, district, district_code,
        CAST(employees AS INTEGER) AS employees, created_at, updated_at, updated_date,
        landing_date""",
    UCS_JOBS.table: f"""job_id, company_id, title, description,
        {duck_skill_list("required_skills")} AS required_skills, district, district_code,
        salary_min_kzt, salary_max_kzt, employment_type, status, status = 'open' AS is_open,
        posted_at, CAST(timezone('{UCS_JOBS.timezone}', posted_at) AS DATE) AS posted_date,
        updated_at, updated_date, landing_date""",
    UCS_COURSES.table: f"""course_id, university, title, description,
        {duck_skill_list("skills_taught")} AS skills_taught, CAST(hours AS INTEGER) AS hours,
        format, created_at, updated_at, updated_date, landing_date""",
}


def merge_day_changes_duckdb(
    lake: Lake, contract: Contract, days: list[date], skill_tables: tuple[SkillTable, ...] = ()
) -> dict[str, int]:
    """`merge_day_changes` in DuckDB: the same MERGE (newest `updated_at` wins), the same
    skill tables, the same statistics."""
    from pipelines import duckdb_io

    key, table = contract.keys[0], contract.table
    with duckdb_io.connect(lake) as con:
        duckdb_io.scan(con, "bronze", lake, "bronze", table, date_column="landing_date", days=days)
        newest = ", ".join(
            f"{c} DESC" for c in ("updated_at", "landing_date", "_source_file", "_source_row")
        )
        latest = (
            f"SELECT * FROM bronze QUALIFY row_number() OVER "
            f"(PARTITION BY {key} ORDER BY {newest}) = 1"
        )
        if "district" in (c.name for c in contract.columns):
            duckdb_io.register_districts(con)
            latest = duckdb_io.with_canonical_district(latest)
        con.execute(f"CREATE TABLE skill_vocab AS SELECT {_DUCK_SPELLINGS} AS spellings")
        con.execute(
            f"CREATE TABLE changes AS SELECT {_DUCK_SELECTS[table]} FROM ({latest}), skill_vocab"
        )
        if "district" in (c.name for c in contract.columns):
            duckdb_io.assert_districts_known(con, "changes", contract.source)
        changed = duckdb_io.count(con, "SELECT * FROM changes")
        if changed or not lake.table_exists("silver", table):
            version = duckdb_io.merge_latest(
                lake, table, con.sql("SELECT * FROM changes").to_arrow_table(), key
            )
        else:
            version = lake.delta_table("silver", table).version()
        stats = {"bronze_rows": _rows(lake, "bronze", table, days), "records_changed": changed}
        stats["superseded_versions"] = stats["bronze_rows"] - changed
        stats[f"{table}_version"] = version
        stats[f"{table}_rows"] = _rows(lake, "silver", table)
        duckdb_io.scan(con, "current_rows", lake, "silver", table)
        for skills in skill_tables:
            if changed or not lake.table_exists("silver", skills.table):
                # Rebuilt whole from the current versions, so a skill dropped from a profile goes.
                rows = con.sql(
                    f"SELECT {key}, unnest({skills.array_column}) AS skill, updated_at "
                    "FROM current_rows"
                ).to_arrow_table()
                stats[f"{skills.table}_version"] = duckdb_io.replace_table(lake, skills.table, rows)
            stats[f"{skills.table}_rows"] = _rows(lake, "silver", skills.table)
    return stats


def build_talents_silver_duckdb(lake: Lake, days: list[date]) -> dict[str, int]:
    return merge_day_changes_duckdb(lake, UCS_TALENTS, days, (TALENT_SKILLS,))


def build_companies_silver_duckdb(lake: Lake, days: list[date]) -> dict[str, int]:
    return merge_day_changes_duckdb(lake, UCS_COMPANIES, days)


def build_jobs_silver_duckdb(lake: Lake, days: list[date]) -> dict[str, int]:
    return merge_day_changes_duckdb(lake, UCS_JOBS, days, (JOB_SKILLS,))


def build_courses_silver_duckdb(lake: Lake, days: list[date]) -> dict[str, int]:
    return merge_day_changes_duckdb(lake, UCS_COURSES, days)
