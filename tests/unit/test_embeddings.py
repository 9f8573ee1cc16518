"""Talent-job embeddings and matching: retrieval metrics on rankings computed by hand, the
incremental embedding store, matching and skill-gap courses on a tiny handmade silver, the
TF-IDF baseline, and the whole job (gold table, MLflow run, registered pyfunc) on a small
simulated platform with an ESCO subsample. Uses the real all-MiniLM-L6-v2 model, loaded once."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
import polars as pl
import pytest
from deltalake import write_deltalake

from ml import embeddings, text_embeddings
from ml.embeddings import run_talent_matching
from ml.eval_retrieval import (
    RetrievalTask,
    compare_methods,
    recall_at_k,
    reciprocal_rank,
    retrieval_metrics,
)
from ml.matching import (
    MatchingData,
    courses_for_gap,
    current_matches,
    top_jobs_for_talent,
    top_talents_for_job,
)
from ml.text_embeddings import (
    EMBEDDING_DIM,
    MODEL_NAME,
    encode,
    load_encoder,
    load_model,
    model_version,
    onnx_model_file,
    read_store,
    update_embeddings,
    vectors,
)
from pipelines.lake import Lake
from pipelines.settings import LakehouseSettings
from pipelines.sources import ucs

ROOT = Path(__file__).resolve().parents[2]
ESCO = ROOT.parent / "shared" / "data" / "esco_occupations_v1_0"
SEED = 42
T0 = datetime(2020, 5, 1, 12, tzinfo=UTC)


# -- metrics -----------------------------------------------------------------------------------
def test_recall_and_reciprocal_rank_of_one_ranking() -> None:
    ranked = ["JOB-a", "JOB-b", "JOB-c", "JOB-d"]
    relevant = {"JOB-b", "JOB-d"}
    assert recall_at_k(ranked, relevant, 1) == 0.0  # 0 of min(1, 2)
    assert recall_at_k(ranked, relevant, 2) == 0.5  # 1 of min(2, 2)
    assert recall_at_k(ranked, relevant, 4) == 1.0
    assert recall_at_k(ranked, relevant, 10) == 1.0  # 2 of min(10, 2)
    assert reciprocal_rank(ranked, relevant) == 0.5
    assert reciprocal_rank(ranked, {"JOB-z"}) == 0.0


def test_metrics_of_a_score_matrix_agree_with_the_hand_computed_rankings() -> None:
    scores = np.array(
        [
            [0.9, 0.1, 0.5, 0.3],  # ranking 0, 2, 3, 1: relevant 2 and 3 at ranks 2 and 3
            [0.2, 0.8, 0.4, 0.6],  # ranking 1, 3, 2, 0: relevant 1 at rank 1
            [0.5, 0.4, 0.3, 0.2],  # no relevant document: left out
        ]
    )
    relevant = np.array([[False, False, True, True], [False, True, False, False], [False] * 4])
    metrics = retrieval_metrics(scores, relevant, ks=(1, 2, 5))
    assert metrics["recall_at_1"] == pytest.approx((0 + 1) / 2)
    assert metrics["recall_at_2"] == pytest.approx((1 / 2 + 1) / 2)
    assert metrics["recall_at_5"] == pytest.approx(1.0)
    assert metrics["mrr"] == pytest.approx((1 / 2 + 1) / 2)
    docs = ["d0", "d1", "d2", "d3"]
    ranked = [[docs[i] for i in np.argsort(-row)] for row in scores[:2]]
    by_list = [
        reciprocal_rank(r, {docs[i] for i in np.flatnonzero(rel)})
        for r, rel in zip(ranked, relevant[:2], strict=True)
    ]
    assert metrics["mrr"] == pytest.approx(np.mean(by_list))


def test_equal_scores_give_no_credit_for_the_order_documents_are_listed_in() -> None:
    scores = np.zeros((1, 200))
    relevant = np.zeros((1, 200), dtype=bool)
    relevant[0, 0] = True  # the first listed document would win every tie
    assert retrieval_metrics(scores, relevant)["recall_at_10"] == 0.0


def test_the_tfidf_baseline_finds_documents_sharing_words() -> None:
    documents = [
        "Data Engineer. Build batch pipelines with Apache Spark and Apache Kafka.",
        "Nurse. Care for patients in a polyclinic, first aid.",
        "Accountant. Prepare IFRS statements in 1C.",
    ]
    queries = ["Apache Spark pipelines", "IFRS statements", "patients first aid"]
    task = RetrievalTask("tiny", queries, documents, [np.array([0]), np.array([2]), np.array([1])])
    rng = np.random.default_rng(0)
    noise = rng.normal(size=(6, 8)).astype(np.float32)  # the embedding side is not judged here
    results = compare_methods(task, noise[:3], noise[3:], ks=(1,))
    tfidf = results.filter(pl.col("method") == "tfidf").row(0, named=True)
    assert tfidf["recall_at_1"] == 1.0
    assert tfidf["mrr"] == 1.0
    assert tfidf["queries"] == 3


# -- the model on ONNX Runtime -----------------------------------------------------------------
def test_the_onnx_encoder_embeds_as_the_pytorch_model_does() -> None:
    texts = [
        "Data Engineer. Build batch pipelines with Apache Spark and Apache Kafka.",
        "  Nurse in a polyclinic  ",  # stripped, as sentence-transformers strips
        "Главный бухгалтер, МСФО, 1С",
        "",
        "Go developer " * 200,  # cut at the model's 256 tokens
        *(f"Junior analyst number {i}" for i in range(20)),  # more than one batch of 16
    ]
    model = load_model()
    expected = model.encode(texts, normalize_embeddings=True, convert_to_numpy=True)
    got = encode(texts)
    assert got.shape == (len(texts), EMBEDDING_DIM) and got.dtype == np.float32
    assert np.abs(got - expected).max() < 1e-5
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    # The same tokens as the model's own tokenizer, the long text cut at 256.
    reference = model.tokenizer([t.strip() for t in texts], truncation=True, max_length=256)
    tokenizer = load_encoder().tokenizer
    padded = tokenizer.padding
    tokenizer.no_padding()
    try:
        ids = [e.ids for e in tokenizer.encode_batch([t.strip() for t in texts])]
    finally:
        tokenizer.enable_padding(**padded)
    assert ids == reference["input_ids"]
    assert len(ids[4]) == 256


def test_the_encoder_threads_sleep_between_operators_and_embed_the_same() -> None:
    """ONNX Runtime's threads spin by default; the encoder's do not (it shares the machine with
    a run's other steps), and that changes no vector."""
    from ml.text_embeddings import onnx_encoder, onnx_model_file

    texts = ["Data Engineer. Spark, Kafka.", "Медсестра", "Junior analyst " * 40]
    encoders = {
        spinning: onnx_encoder(onnx_model_file(), spinning=spinning) for spinning in (False, True)
    }
    for spinning, encoder in encoders.items():
        options = encoder.session.get_session_options()
        entry = options.get_session_config_entry("session.intra_op.allow_spinning")
        assert entry == ("1" if spinning else "0")
    loaded = load_encoder().session.get_session_options()  # the job's encoder
    assert loaded.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    assert np.abs(encoders[False].encode(texts) - encoders[True].encode(texts)).max() < 1e-6


def test_the_onnx_export_is_checked_before_use_and_made_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An export that embeds differently from the PyTorch model is refused, and leaves nothing
    # for a later process to load (a tolerance of 0 refuses the ~2e-7 of any real export).
    monkeypatch.setattr(text_embeddings, "EXPORT_TOLERANCE", 0.0)
    with pytest.raises(RuntimeError, match="embeds differently from the PyTorch model"):
        onnx_model_file(tmp_path)
    assert not any((tmp_path / "models").iterdir())
    monkeypatch.undo()
    path = onnx_model_file(tmp_path)
    assert path.parent == tmp_path / "models" and model_version() in path.name
    assert [p.name for p in (tmp_path / "models").iterdir()] == [path.name]

    def no_second_export(_: Path) -> Path:
        raise AssertionError("exported again")

    monkeypatch.setattr(text_embeddings, "export_onnx", no_second_export)
    assert onnx_model_file(tmp_path) == path


# -- the embedding store -----------------------------------------------------------------------
def _texts(rows: list[tuple[str, str, str]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=["entity_type", "entity_id", "text"], orient="row")


def test_the_store_embeds_only_new_and_changed_texts(
    local_settings: LakehouseSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    encoded: list[str] = []

    def recording_encode(texts: Any) -> np.ndarray:
        encoded.extend(texts)
        return encode(texts)

    first = _texts(
        [
            ("talent", "TAL-0000001", "Data Engineer with Apache Spark and Kafka."),
            ("talent", "TAL-0000002", "Nurse in a city polyclinic."),
            ("talent", "TAL-0000003", "Accountant preparing IFRS reports in 1C."),
            ("course", "CRS-00001", "Apache Kafka Fundamentals."),
        ]
    )
    update = update_embeddings(local_settings, first, recording_encode, now=T0)
    assert (update.new, update.changed, update.reused, update.removed) == (4, 0, 0, 0)
    before, _ = read_store(local_settings)
    assert before.height == 4
    assert set(before.get_column("model_name")) == {MODEL_NAME}
    assert set(before.get_column("model_version")) == {model_version()}
    assert vectors(before).shape == (4, EMBEDDING_DIM)
    assert np.allclose(np.linalg.norm(vectors(before), axis=1), 1.0, atol=1e-5)

    encoded.clear()
    second = _texts(
        [
            ("talent", "TAL-0000001", "Data Engineer with Apache Spark and Kafka."),  # same
            ("talent", "TAL-0000002", "Senior nurse in a city polyclinic."),  # changed
            ("talent", "TAL-0000004", "Teacher of mathematics at a lyceum."),  # new
        ]  # TAL-0000003 is gone; the course is another type and stays
    )
    update = update_embeddings(local_settings, second, recording_encode, now=T0.replace(day=2))
    assert (update.new, update.changed, update.reused, update.removed) == (1, 1, 1, 1)
    assert sorted(encoded) == [
        "Senior nurse in a city polyclinic.",
        "Teacher of mathematics at a lyceum.",
    ]
    after, _ = read_store(local_settings)
    assert after.get_column("entity_id").to_list() == [
        "CRS-00001",
        "TAL-0000001",
        "TAL-0000002",
        "TAL-0000004",
    ]
    kept_before = before.filter(pl.col("entity_id").is_in(["TAL-0000001", "CRS-00001"]))
    kept_after = after.filter(pl.col("entity_id").is_in(["TAL-0000001", "CRS-00001"]))
    assert np.array_equal(vectors(kept_before), vectors(kept_after))  # bit for bit
    assert kept_after.get_column("embedded_at").to_list() == [T0, T0]

    encoded.clear()
    unchanged = update_embeddings(local_settings, second, recording_encode)
    assert (unchanged.new, unchanged.changed, unchanged.reused) == (0, 0, 3)
    assert unchanged.version == update.version  # nothing to commit
    assert encoded == []

    monkeypatch.setattr("ml.text_embeddings.model_version", lambda: "0.2.0+feedfacecafe")
    new_model = update_embeddings(local_settings, second, recording_encode)
    assert (new_model.new, new_model.changed, new_model.reused) == (0, 3, 0)


# -- matching on a handmade silver -------------------------------------------------------------
def _write_silver(settings: LakehouseSettings, table: str, rows: list[dict[str, Any]]) -> None:
    lake = Lake(settings)
    lake.ensure_ready()
    write_deltalake(lake.uri("silver", table), pl.DataFrame(rows).to_arrow(), mode="overwrite")


def _talent(talent_id: str, text: str, skills: list[str], taken: list[str]) -> dict[str, Any]:
    return {
        "talent_id": talent_id,
        "profile_text": text,
        "skills": skills,
        "courses_taken": taken,
        "district": "Almaly",
    }


def _job(job_id: str, title: str, text: str, skills: list[str], is_open: bool) -> dict[str, Any]:
    return {
        "job_id": job_id,
        "title": title,
        "description": text,
        "required_skills": skills,
        "district": "Bostandyk",
        "is_open": is_open,
    }


def _course(course_id: str, title: str, skills: list[str]) -> dict[str, Any]:
    return {
        "course_id": course_id,
        "title": title,
        "description": f"A practical course on {', '.join(skills)}.",
        "skills_taught": skills,
        "university": "Satbayev University",
    }


@pytest.fixture
def handmade_lake(local_settings: LakehouseSettings) -> LakehouseSettings:
    """Three talents, four jobs (one closed), four courses: silver and its embeddings."""
    _write_silver(
        local_settings,
        "ucs_talents",
        [
            _talent(
                "TAL-0000001",
                "Data Engineer with three years of building batch pipelines in Python.",
                ["Python", "SQL", "Apache Spark"],
                ["CRS-00004"],
            ),
            _talent(
                "TAL-0000002",
                "Nurse at a city polyclinic, caring for patients after surgery.",
                ["Patient Care", "First Aid"],
                [],
            ),
            _talent(
                "TAL-0000003",
                "Accountant preparing monthly IFRS statements and tax returns in 1C.",
                ["1C", "IFRS", "Tax Accounting"],
                [],
            ),
        ],
    )
    _write_silver(
        local_settings,
        "ucs_jobs",
        [
            _job(
                "JOB-20200301-0001",
                "Data Engineer",
                "Build streaming data pipelines for our analytics team.",
                ["Python", "SQL", "Apache Kafka", "Apache Airflow"],
                True,
            ),
            _job(
                "JOB-20200301-0002",
                "Nurse",
                "Care for patients in the surgery ward of a private clinic.",
                ["Patient Care", "First Aid"],
                True,
            ),
            _job(
                "JOB-20200301-0003",
                "Accountant",
                "Keep the books and prepare IFRS reports of a retail chain.",
                ["1C", "IFRS"],
                True,
            ),
            _job(
                "JOB-20200301-0004",
                "Senior Data Engineer",
                "Lead the data platform team building Spark pipelines.",
                ["Python", "Apache Spark"],
                False,
            ),
        ],
    )
    _write_silver(
        local_settings,
        "ucs_courses",
        [
            _course("CRS-00001", "Apache Kafka Fundamentals", ["Apache Kafka"]),
            _course("CRS-00002", "Data Pipelines in Practice", ["Apache Airflow", "Apache Kafka"]),
            _course("CRS-00003", "Nursing Basics", ["Patient Care"]),
            _course("CRS-00004", "Streaming with Kafka", ["Apache Kafka", "Docker"]),
        ],
    )
    from ml.matching import read_silver
    from ml.text_embeddings import entity_texts

    frames, _ = read_silver(local_settings)
    update_embeddings(
        local_settings, entity_texts(frames["talents"], frames["jobs"], frames["courses"])
    )
    return local_settings


def test_matching_finds_each_talent_the_open_job_of_the_profession(
    handmade_lake: LakehouseSettings,
) -> None:
    data = MatchingData.load(handmade_lake)
    engineer_jobs = top_jobs_for_talent(data, "TAL-0000001", k=5)
    assert engineer_jobs.get_column("job_id").to_list()[0] == "JOB-20200301-0001"
    assert "JOB-20200301-0004" not in engineer_jobs.get_column("job_id")  # closed
    assert engineer_jobs.get_column("rank").to_list() == [1, 2, 3]
    assert engineer_jobs.get_column("score").is_sorted(descending=True)
    for talent, job in (("TAL-0000002", "JOB-20200301-0002"), ("TAL-0000003", "JOB-20200301-0003")):
        assert top_jobs_for_talent(data, talent, k=1).get_column("job_id").to_list() == [job]
        assert top_talents_for_job(data, job, k=1).get_column("talent_id").to_list() == [talent]
    nurses = top_talents_for_job(data, "JOB-20200301-0002", k=2)
    assert nurses.get_column("matched_skills").to_list()[0] == ["First Aid", "Patient Care"]
    with pytest.raises(KeyError, match="TAL-0000009"):
        top_jobs_for_talent(data, "TAL-0000009")


def test_courses_close_the_gap_most_covered_first_and_none_already_taken(
    handmade_lake: LakehouseSettings,
) -> None:
    data = MatchingData.load(handmade_lake)
    gap = courses_for_gap(data, "TAL-0000001", "JOB-20200301-0001", k=3)
    assert gap.gap_skills == ["Apache Kafka", "Apache Airflow"]  # in the job's order
    # CRS-00004 teaches Kafka too, but the talent took it; the nursing course teaches no gap.
    assert gap.courses.get_column("course_id").to_list() == ["CRS-00002", "CRS-00001"]
    assert gap.courses.get_column("covers").to_list() == [2, 1]
    assert gap.courses.get_column("covered_skills").to_list()[0] == [
        "Apache Airflow",
        "Apache Kafka",
    ]
    no_gap = courses_for_gap(data, "TAL-0000002", "JOB-20200301-0002")
    assert no_gap.gap_skills == [] and no_gap.courses.height == 0


def test_current_matches_rank_open_jobs_for_every_talent(handmade_lake: LakehouseSettings) -> None:
    data = MatchingData.load(handmade_lake)
    matches = current_matches(data, k=10, mlflow_run_id="run-1", computed_at=T0)
    assert matches.height == 3 * 3  # three talents, three open jobs
    assert matches.columns == [
        "talent_id",
        "job_id",
        "rank",
        "score",
        "gap_skills",
        "suggested_course_ids",
        "model_version",
        "mlflow_run_id",
        "computed_at",
    ]
    best = matches.filter(pl.col("rank") == 1).sort("talent_id")
    assert best.get_column("job_id").to_list() == [
        "JOB-20200301-0001",
        "JOB-20200301-0002",
        "JOB-20200301-0003",
    ]
    engineer = best.row(0, named=True)
    assert engineer["gap_skills"] == ["Apache Kafka", "Apache Airflow"]
    assert engineer["suggested_course_ids"] == ["CRS-00002", "CRS-00001"]
    single = courses_for_gap(data, "TAL-0000003", "JOB-20200301-0001", k=3)
    pair = matches.filter(
        (pl.col("talent_id") == "TAL-0000003") & (pl.col("job_id") == "JOB-20200301-0001")
    ).row(0, named=True)
    assert pair["gap_skills"] == single.gap_skills
    assert pair["suggested_course_ids"] == single.courses.get_column("course_id").to_list()


def test_a_lake_without_open_jobs_yet_gets_no_matches_and_an_unevaluated_run(
    local_settings: LakehouseSettings,
) -> None:
    """A lake of one day can hold talents and only closed jobs (the UCS feed is a change
    feed): the job writes an empty gold table and says why nothing was evaluated."""
    _write_silver(
        local_settings,
        "ucs_talents",
        [_talent("TAL-0000001", "Nurse at a polyclinic.", ["Patient Care"], [])],
    )
    _write_silver(
        local_settings,
        "ucs_jobs",
        [_job("JOB-20200301-0001", "Nurse", "Care for patients.", ["Patient Care"], False)],
    )
    _write_silver(
        local_settings, "ucs_courses", [_course("CRS-00001", "Nursing Basics", ["Patient Care"])]
    )
    summary = run_talent_matching(local_settings, evaluate_esco_set=False)

    assert summary["counts"] == {"talents": 1, "jobs": 1, "open_jobs": 0, "courses": 1}
    assert summary["gold_rows"] == 0
    gold = Lake(local_settings).delta_table("gold", "ml_talent_job_matches").to_pyarrow_table()
    assert gold.num_rows == 0 and "talent_id" in gold.column_names
    assert summary["metrics"] == {} and summary["chart"] is None
    assert summary["headline"] == "not evaluated: 1 talents and 0 open jobs in silver"
    tags = mlflow.MlflowClient().get_run(summary["run_id"]).data.tags
    assert tags["sim_skipped"] == "1 talents and 0 open jobs in silver"


def test_a_lake_whose_open_jobs_fit_no_talent_gets_matches_and_an_unevaluated_run(
    local_settings: LakehouseSettings,
) -> None:
    """A day at a small scale: one open job, of a profession no talent has. The matches are
    written; the evaluation, with no relevant job for any query, is skipped and says why."""
    seed = local_settings.simulation_seed
    talent = "TAL-0000001"
    job = next(
        f"JOB-20200301-{number:04d}"
        for number in range(1, 1000)
        if ucs.true_profession(seed, f"JOB-20200301-{number:04d}")
        != ucs.true_profession(seed, talent)
    )
    _write_silver(
        local_settings, "ucs_talents", [_talent(talent, "Nurse at a polyclinic.", ["Care"], [])]
    )
    _write_silver(
        local_settings, "ucs_jobs", [_job(job, "Engineer", "Build pipelines.", ["Kafka"], True)]
    )
    _write_silver(local_settings, "ucs_courses", [_course("CRS-00001", "Kafka", ["Kafka"])])
    summary = run_talent_matching(local_settings, evaluate_esco_set=False)

    assert summary["gold_rows"] == 1
    reason = "no talent of the 1 has the profession of any of the 1 open jobs in silver"
    assert summary["headline"] == f"not evaluated: {reason}"
    assert summary["metrics"] == {} and summary["chart"] is None
    assert mlflow.MlflowClient().get_run(summary["run_id"]).data.tags["sim_skipped"] == reason


def test_the_match_command_prints_jobs_talents_and_the_gap(
    handmade_lake: LakehouseSettings, capfd: pytest.CaptureFixture[str]
) -> None:
    from typer.testing import CliRunner

    from orchestration.cli import app

    runner = CliRunner()
    for args, expected in (
        (["--talent", "TAL-0000002", "--k", "1"], "JOB-20200301-0002"),
        (["--job", "JOB-20200301-0003", "--k", "1"], "TAL-0000003"),
        (["--talent", "TAL-0000001", "--job", "JOB-20200301-0001"], "CRS-00002"),
    ):
        result = runner.invoke(app, ["match", *args])
        assert result.exit_code == 0, result.output
        assert expected in capfd.readouterr().out  # the console writes to the terminal itself
    assert runner.invoke(app, ["match", "--talent", "TAL-0000009"]).exit_code == 1
    assert "no talent 'TAL-0000009'" in capfd.readouterr().out


# -- the whole job on a small simulated platform -----------------------------------------------
def _simulated_silver(settings: LakehouseSettings) -> None:
    """40 talents, the jobs posted over a week and every course of a small simulated city,
    written as silver (the simulator's own records: its professions are the ground truth)."""
    scale, day = 0.02, date(2020, 5, 1)
    population = [t for t in ucs.talents(SEED, scale).records if t.created_at.date() <= day][:40]
    talents = []
    for talent in population:
        record = ucs.talent_on(SEED, scale, talent, day)
        talents.append(
            _talent(
                record["talent_id"] or "",
                record["profile_text"] or "",
                (record["skills"] or "").split(ucs.LIST_SEPARATOR),
                (record["courses_taken"] or "").split(ucs.LIST_SEPARATOR)
                if record["courses_taken"]
                else [],
            )
        )
    jobs = [
        _job(p.job_id, p.title, p.description, list(p.skills), is_open=i % 5 != 0)
        for offset in range(7)
        for i, p in enumerate(ucs.postings(SEED, scale, date(2020, 4, 24 + offset)))
    ]
    courses = [
        {**_course(c.course_id, c.title, list(c.skills)), "description": c.description}
        for c in ucs.courses(SEED, scale).records
    ]
    _write_silver(settings, "ucs_talents", talents)
    _write_silver(settings, "ucs_jobs", jobs)
    _write_silver(settings, "ucs_courses", courses)


@pytest.mark.skipif(not ESCO.is_dir(), reason=f"ESCO labelled set not found at {ESCO}")
def test_the_job_writes_gold_logs_to_mlflow_and_registers_the_embedder(
    local_settings: LakehouseSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    _simulated_silver(local_settings)
    summary = run_talent_matching(local_settings, k=5, esco_limit=150, esco_corpus_limit=300)

    counts = summary["counts"]
    assert summary["embeddings"]["new"] == counts["talents"] + counts["jobs"] + counts["courses"]
    assert summary["gold_rows"] == counts["talents"] * min(5, counts["open_jobs"])
    gold = Lake(local_settings).delta_table("gold", "ml_talent_job_matches").to_pyarrow_table()
    assert gold.num_rows == summary["gold_rows"]
    assert set(gold.column("mlflow_run_id").to_pylist()) == {summary["run_id"]}

    metrics = summary["metrics"]
    for dataset in ("sim", "esco"):
        for method in ("embedding", "tfidf"):
            assert 0.0 <= metrics[f"{dataset}.{method}.mrr"] <= 1.0
    # As on the full ESCO set (ml/results/talent_matching.md: MRR 0.711 vs 0.518). On the
    # simulator TF-IDF is ahead (its texts share each profession's words), so only that both
    # find the profession's jobs far above chance is asserted there.
    assert metrics["esco.embedding.mrr"] > metrics["esco.tfidf.mrr"]
    assert metrics["sim.embedding.mrr"] > 0.8 and metrics["sim.tfidf.mrr"] > 0.8

    client = mlflow.MlflowClient()
    run = client.get_run(summary["run_id"])
    assert run.data.params["data_version.silver/ucs_talents"] == "0"
    assert run.data.params["model_version"] == model_version()
    assert run.data.metrics["embeddings.new"] == summary["embeddings"]["new"]
    artifacts = {
        a.path
        for folder in ("evaluation", "plots")
        for a in client.list_artifacts(run.info.run_id, folder)
    }
    assert artifacts == {"evaluation/evaluation.csv", "plots/embedding_vs_tfidf.png"}
    assert summary["chart"].exists()

    assert summary["registered_model_version"] == 1
    embedder = mlflow.pyfunc.load_model("models:/ucs_text_embedder/1")
    predicted = np.asarray(embedder.predict(pd.DataFrame({"text": ["Nurse", "Data Engineer"]})))
    assert predicted.shape == (2, EMBEDDING_DIM)
    assert np.allclose(predicted, encode(["Nurse", "Data Engineer"]), atol=1e-5)
    # A model server needs neither torch nor this project: in a process of its own, away from
    # the project's folder, the registered version embeds the same and imports neither.
    serve = (
        "import json, sys, mlflow, pandas as pd; mlflow.set_tracking_uri(sys.argv[1]); "
        "model = mlflow.pyfunc.load_model('models:/ucs_text_embedder/1'); "
        "vectors = model.predict(pd.DataFrame({'text': ['Nurse', 'Data Engineer']})); "
        "loaded = [m for m in ('torch', 'sentence_transformers', 'ml', 'pipelines') "
        "if m in sys.modules]; print(json.dumps([vectors.tolist(), loaded]))"
    )
    served = subprocess.run(
        [sys.executable, "-c", serve, local_settings.mlflow_tracking_uri],
        capture_output=True, text=True, cwd=local_settings.home, timeout=300, check=True,
    )  # fmt: skip
    vectors, loaded = json.loads(served.stdout.splitlines()[-1])
    assert loaded == []
    assert np.array_equal(np.asarray(vectors, dtype=np.float32), predicted)

    again = run_talent_matching(local_settings, k=5, esco_limit=20, esco_corpus_limit=60)
    assert again["embeddings"]["reused"] == summary["embeddings"]["new"]
    assert again["embeddings"]["new"] == again["embeddings"]["changed"] == 0
    # The same weights: the second run serves the version the first registered, adds none.
    assert again["registered_model_version"] == 1
    assert again["model_uri"] == "models:/ucs_text_embedder/1"
    (registered,) = client.search_model_versions("name = 'ucs_text_embedder'")
    assert registered.tags["model_version"] == model_version()
    assert registered.tags["runtime"] == "onnxruntime"
    assert client.get_run(again["run_id"]).data.params["registered_model_version"] == "1"
    # New weights (a new model version): registered as a new version.
    monkeypatch.setattr(embeddings, "model_version", lambda: "0.2.0+0123456789ab")
    third = run_talent_matching(local_settings, k=5, esco_limit=20, esco_corpus_limit=60)
    assert third["registered_model_version"] == 2
    tags = {int(v.version): v.tags["model_version"] for v in client.search_model_versions("")}
    assert tags == {1: model_version(), 2: "0.2.0+0123456789ab"}
