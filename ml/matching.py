"""Talent-job matching on the stored embeddings: the best open jobs for a talent, the best
talents for a job, the courses that close a talent's skill gap for a job, and the current top
matches of every talent (the gold table), all as cosine similarities of normalised vectors.

The skill gap of a talent for a job is the job's required skills the talent does not list.
Courses teaching any gap skill (and not already taken) are ranked by the number of gap skills
they teach, then by the cosine of the course and the job.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import polars as pl
import pyarrow as pa
from scipy import sparse

from ml.text_embeddings import read_store, vectors
from ml.tracking import read_delta
from pipelines.settings import LakehouseSettings

log = logging.getLogger(__name__)

TALENT_COLUMNS = ["talent_id", "profile_text", "skills", "courses_taken", "district"]
JOB_COLUMNS = ["job_id", "title", "description", "required_skills", "district", "is_open"]
COURSE_COLUMNS = ["course_id", "title", "description", "skills_taught", "university"]
TALENT_CHUNK = 1024  # talents scored at a time: 1,024 x 8,000 open jobs is ~33 MB of float32
GOLD_SCHEMA = pl.Schema(
    {
        "talent_id": pl.String(),
        "job_id": pl.String(),
        "rank": pl.Int32(),
        "score": pl.Float32(),
        "gap_skills": pl.List(pl.Utf8),
        "suggested_course_ids": pl.List(pl.Utf8),
        "model_version": pl.String(),
        "mlflow_run_id": pl.String(),
        "computed_at": pl.Datetime("us", "UTC"),
    }
)


def read_silver(settings: LakehouseSettings) -> tuple[dict[str, pl.DataFrame], dict[str, int]]:
    """Talents, jobs and courses from silver, and the Delta version of each table read."""
    frames, versions = {}, {}
    for name, table, columns in (
        ("talents", "ucs_talents", TALENT_COLUMNS),
        ("jobs", "ucs_jobs", JOB_COLUMNS),
        ("courses", "ucs_courses", COURSE_COLUMNS),
    ):
        frames[name], versions[f"silver/{table}"] = read_delta(settings, "silver", table, columns)
    return frames, versions


def _with_vectors(
    entities: pl.DataFrame, id_column: str, entity_type: str, store: pl.DataFrame
) -> tuple[pl.DataFrame, np.ndarray]:
    """The entities that have a stored vector, in id order, and their vectors (same rows)."""
    stored = store.filter(pl.col("entity_type") == entity_type).select(
        pl.col("entity_id").alias(id_column), "embedding"
    )
    joined = entities.join(stored, on=id_column, how="inner").sort(id_column)
    missing = entities.height - joined.height
    if missing:
        log.warning(
            "%d of %d %ss have no stored embedding yet and are left out of matching; "
            "run the talent matching job to embed them",
            missing,
            entities.height,
            entity_type,
        )
    return joined.drop("embedding"), vectors(joined)


@dataclass(frozen=True)
class MatchingData:
    """Silver talents, jobs and courses with their embeddings (row i of a frame is row i of
    its vector matrix)."""

    talents: pl.DataFrame
    jobs: pl.DataFrame
    courses: pl.DataFrame
    talent_vectors: np.ndarray
    job_vectors: np.ndarray
    course_vectors: np.ndarray
    model_version: str

    @classmethod
    def from_frames(
        cls,
        talents: pl.DataFrame,
        jobs: pl.DataFrame,
        courses: pl.DataFrame,
        store: pl.DataFrame,
    ) -> MatchingData:
        model_versions = store.get_column("model_version").unique().to_list()
        if len(model_versions) != 1:
            raise ValueError(
                f"silver/ucs_embeddings holds {len(model_versions)} model versions "
                f"({model_versions}); re-embed with one model before matching"
            )
        talents, talent_vectors = _with_vectors(talents, "talent_id", "talent", store)
        jobs, job_vectors = _with_vectors(jobs, "job_id", "job", store)
        courses, course_vectors = _with_vectors(courses, "course_id", "course", store)
        return cls(
            talents, jobs, courses, talent_vectors, job_vectors, course_vectors, model_versions[0]
        )

    @classmethod
    def load(cls, settings: LakehouseSettings) -> MatchingData:
        """Silver and the stored embeddings, as the lake holds them now."""
        frames, _ = read_silver(settings)
        store, _ = read_store(settings)
        if store.height == 0:
            raise FileNotFoundError(
                "silver/ucs_embeddings is empty or missing: run `python -m ml.embeddings run`"
            )
        return cls.from_frames(frames["talents"], frames["jobs"], frames["courses"], store)

    def talent_row(self, talent_id: str) -> int:
        return _row(self.talents, "talent_id", talent_id, "talent")

    def job_row(self, job_id: str) -> int:
        return _row(self.jobs, "job_id", job_id, "job")


def _row(frame: pl.DataFrame, column: str, value: str, what: str) -> int:
    found = np.flatnonzero(frame.get_column(column).to_numpy() == value)
    if found.size == 0:
        raise KeyError(f"no {what} {value!r} with a stored embedding (silver/ucs_{what}s)")
    return int(found[0])


def _top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Column indices of the k best scores of each row, best first (ties: lower index first)."""
    k = min(k, scores.shape[1])
    if k == 0:
        return np.zeros((scores.shape[0], 0), dtype=np.int64)
    candidates = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    picked = np.take_along_axis(scores, candidates, axis=1)
    order = np.lexsort((candidates, -picked), axis=1)
    return np.take_along_axis(candidates, order, axis=1)


def top_jobs_for_talent(data: MatchingData, talent_id: str, k: int = 10) -> pl.DataFrame:
    """The k open jobs closest to a talent: rank, job_id, title, district, score."""
    open_rows = np.flatnonzero(data.jobs.get_column("is_open").to_numpy())
    scores = data.talent_vectors[data.talent_row(talent_id)] @ data.job_vectors[open_rows].T
    best = _top_k(scores[None, :], k)[0]
    return (
        data.jobs[open_rows[best]]
        .select("job_id", "title", "district")
        .with_columns(
            score=pl.Series(scores[best], dtype=pl.Float32),
            rank=pl.int_range(1, best.size + 1, dtype=pl.Int32),
        )
        .select("rank", "job_id", "title", "district", "score")
    )


def top_talents_for_job(data: MatchingData, job_id: str, k: int = 10) -> pl.DataFrame:
    """The k talents closest to a job: rank, talent_id, district, matched_skills, score."""
    job = data.job_row(job_id)
    scores = data.talent_vectors @ data.job_vectors[job]
    best = _top_k(scores[None, :], k)[0]
    required = set(data.jobs.get_column("required_skills").to_list()[job] or [])
    talents = data.talents[best]
    return talents.select(
        rank=pl.int_range(1, best.size + 1, dtype=pl.Int32),
        talent_id="talent_id",
        district="district",
        matched_skills=pl.Series(
            [
                sorted(required.intersection(s or []))
                for s in talents.get_column("skills").to_list()
            ],
            dtype=pl.List(pl.Utf8),
        ),
        score=pl.Series(scores[best], dtype=pl.Float32),
    )


@dataclass(frozen=True)
class SkillGap:
    """The skills a talent lacks for a job, and the courses that teach them, best first."""

    talent_id: str
    job_id: str
    gap_skills: list[str]
    courses: pl.DataFrame  # rank, course_id, title, university, covers, covered_skills, score


class _GapIndex:
    """Skills as 0/1 matrices over one vocabulary, so that gaps and their coverage by courses
    are matrix products instead of loops over pairs and courses. Results per pair come back
    flattened, as `offsets` (pair i owns values[offsets[i]:offsets[i + 1]]) and values."""

    def __init__(self, data: MatchingData) -> None:
        talent_skills = data.talents.get_column("skills").to_list()
        job_skills = data.jobs.get_column("required_skills").to_list()
        course_skills = data.courses.get_column("skills_taught").to_list()
        every_list = (*talent_skills, *job_skills, *course_skills)
        self.vocabulary = np.array(
            sorted({s for skills in every_list for s in skills or []}), dtype=object
        )
        self.position = {skill: i for i, skill in enumerate(self.vocabulary.tolist())}
        width = self.vocabulary.size
        self.talents = self._matrix(talent_skills, width) > 0
        # A job's skills by their place in its list (1 = first), so gaps keep the job's order.
        self.job_order = self._matrix(job_skills, width)
        self.jobs = self.job_order > 0
        # Skills x courses, sparse: a gap has a handful of skills, each taught by few courses.
        self.teaches = sparse.csr_matrix(
            (self._matrix(course_skills, width) > 0).T, dtype=np.float32
        )
        course_index = {c: i for i, c in enumerate(data.courses.get_column("course_id"))}
        self.taken = np.zeros((data.talents.height, data.courses.height), dtype=bool)
        for row, taken in enumerate(data.talents.get_column("courses_taken").to_list()):
            self.taken[row, [course_index[c] for c in taken or [] if c in course_index]] = True
        self.course_job_cosine = data.job_vectors @ data.course_vectors.T

    def _matrix(self, lists: list[list[str] | None], width: int) -> np.ndarray:
        """Row i holds, at each skill of list i, its 1-based place in the list (else 0)."""
        matrix = np.zeros((len(lists), width), dtype=np.int16)
        for row, skills in enumerate(lists):
            places = [self.position[s] for s in dict.fromkeys(skills or [])]
            matrix[row, places] = np.arange(1, len(places) + 1)
        return matrix

    def gaps(self, talent_rows: np.ndarray, job_rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The job's skills the talent lacks, per pair, in the job's order: offsets, skills."""
        gap = self.jobs[job_rows] & ~self.talents[talent_rows]
        pair, skill = np.nonzero(gap)
        order = np.lexsort((self.job_order[job_rows[pair], skill], pair))
        return _offsets(pair, talent_rows.size), self.vocabulary[skill[order]]

    def courses_for(
        self, talent_rows: np.ndarray, job_rows: np.ndarray, k: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Up to k courses per pair teaching gap skills the talent has not taken a course
        for, most gap skills first, then closest to the job: offsets, course rows, covers."""
        gap = sparse.csr_matrix(self.jobs[job_rows] & ~self.talents[talent_rows], dtype=np.float32)
        covers = (gap @ self.teaches).tocoo()
        pair, course, count = covers.row, covers.col, covers.data
        not_taken = ~self.taken[talent_rows[pair], course]
        pair, course, count = pair[not_taken], course[not_taken], count[not_taken]
        closeness = self.course_job_cosine[job_rows[pair], course]
        # One sort key: pair first, then most gap skills covered, then closest to the job
        # ((cosine + 1) / 3 lies in [0, 1), below one covered skill; span keeps pairs apart).
        span = float(count.max(initial=0)) + 2
        key = pair * span - (count + (closeness + 1) / 3)
        order = np.argsort(key.astype(np.float64), kind="stable")
        pair, course, count = pair[order], course[order], count[order]
        first_of_pair = np.searchsorted(pair, pair, side="left")
        best = np.arange(pair.size) - first_of_pair < k
        return _offsets(pair[best], talent_rows.size), course[best], count[best].astype(np.int32)


def _offsets(pair: np.ndarray, pairs: int) -> np.ndarray:
    """List offsets of values grouped by their (sorted) pair index."""
    return np.concatenate([[0], np.cumsum(np.bincount(pair, minlength=pairs))]).astype(np.int64)


def _list_series(name: str, offsets: np.ndarray, values: np.ndarray) -> pl.Series:
    lists = pa.LargeListArray.from_arrays(pa.array(offsets), pa.array(values, pa.large_string()))
    series = pl.from_arrow(lists)
    assert isinstance(series, pl.Series)
    return series.alias(name)


def courses_for_gap(data: MatchingData, talent_id: str, job_id: str, k: int = 3) -> SkillGap:
    """A talent's skill gap for a job and the k courses that close most of it."""
    talent, job = np.array([data.talent_row(talent_id)]), np.array([data.job_row(job_id)])
    index = _GapIndex(data)
    _, gap = index.gaps(talent, job)
    _, rows, covers = index.courses_for(talent, job, k)
    courses = data.courses[rows]
    gap_set = set(gap.tolist())
    covered = [
        [s for s in taught or [] if s in gap_set]
        for taught in courses.get_column("skills_taught").to_list()
    ]
    return SkillGap(
        talent_id,
        job_id,
        gap.tolist(),
        courses.select(
            rank=pl.int_range(1, rows.size + 1, dtype=pl.Int32),
            course_id="course_id",
            title="title",
            university="university",
            covers=pl.Series(covers, dtype=pl.Int32),
            covered_skills=pl.Series(covered, dtype=pl.List(pl.Utf8)),
            score=pl.Series(index.course_job_cosine[job[0], rows], dtype=pl.Float32),
        ),
    )


def current_matches(
    data: MatchingData,
    k: int = 10,
    courses_per_match: int = 3,
    mlflow_run_id: str = "",
    computed_at: datetime | None = None,
) -> pl.DataFrame:
    """The k best open jobs of every talent with the gap and up to `courses_per_match` courses
    that close it: the rows of `gold/ml_talent_job_matches`."""
    open_rows = np.flatnonzero(data.jobs.get_column("is_open").to_numpy())
    index = _GapIndex(data)
    open_vectors = data.job_vectors[open_rows]
    talent_ids = data.talents.get_column("talent_id").to_numpy()
    job_ids = data.jobs.get_column("job_id").to_numpy()
    course_ids = data.courses.get_column("course_id").to_numpy()
    parts = []
    for start in range(0, data.talents.height, TALENT_CHUNK):
        talents = np.arange(start, min(start + TALENT_CHUNK, data.talents.height))
        scores = data.talent_vectors[talents] @ open_vectors.T
        best = _top_k(scores, k)
        pair_talents = np.repeat(talents, best.shape[1])
        pair_jobs = open_rows[best.ravel()]
        gap_offsets, gap_skills = index.gaps(pair_talents, pair_jobs)
        course_offsets, courses, _ = index.courses_for(pair_talents, pair_jobs, courses_per_match)
        parts.append(
            pl.DataFrame(
                [
                    pl.Series("talent_id", talent_ids[pair_talents], dtype=pl.String),
                    pl.Series("job_id", job_ids[pair_jobs], dtype=pl.String),
                    pl.Series("rank", np.tile(np.arange(1, best.shape[1] + 1), talents.size)),
                    pl.Series("score", np.take_along_axis(scores, best, axis=1).ravel()),
                    _list_series("gap_skills", gap_offsets, gap_skills),
                    _list_series("suggested_course_ids", course_offsets, course_ids[courses]),
                ]
            )
        )
    matches = pl.concat(parts) if parts else pl.DataFrame(schema=GOLD_SCHEMA)
    return matches.with_columns(
        model_version=pl.lit(data.model_version),
        mlflow_run_id=pl.lit(mlflow_run_id),
        computed_at=pl.lit(computed_at or datetime.now(UTC)),
    ).cast(GOLD_SCHEMA)
