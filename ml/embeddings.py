"""UCS talent-job matching with sentence embeddings, as one job: embed what changed in UCS
silver (`ml.text_embeddings`), judge the embeddings against a TF-IDF baseline on the
simulator's hidden professions and on ESCO (`ml.eval_retrieval`), write the current top
matches to gold (`ml.matching`) and register the text embedder, all in one MLflow run.

    python -m ml.embeddings run [--k 10] [--report ml/results/talent_matching.md]
    python -m ml.embeddings evaluate-esco [--limit N]   # ESCO only, no lake needed
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only: no display on servers
import matplotlib.pyplot as plt  # noqa: E402
import mlflow  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import polars as pl  # noqa: E402

from ml.eval_retrieval import (  # noqa: E402
    KS,
    compare_methods,
    load_esco,
    simulator_task,
    tfidf_vectorizer,
)
from ml.gold_tables import MATCHES_TABLE  # noqa: E402
from ml.matching import MatchingData, current_matches, read_silver  # noqa: E402
from ml.text_embeddings import (  # noqa: E402
    MODEL_NAME,
    PYFUNC_RUNTIME,
    encode,
    entity_texts,
    load_encoder,
    log_text_embedder,
    model_version,
    read_store,
    update_embeddings,
)
from ml.tracking import (  # noqa: E402
    check_tracking_server,
    configure,
    log_data_versions,
    log_figure_file,
    tracked_run,
    write_gold,
)
from pipelines.settings import PROJECT_ROOT, LakehouseSettings  # noqa: E402
from pipelines.sources.ucs import true_profession  # noqa: E402

log = logging.getLogger(__name__)

EXPERIMENT = "talent_matching"
GOLD_TABLE = MATCHES_TABLE
REGISTERED_MODEL = "ucs_text_embedder"
MODEL_VERSION_TAG = "model_version"  # on each registered version: the weights it serves
RUNTIME_TAG = "runtime"  # and what it runs them on
DEFAULT_ESCO_DIR = PROJECT_ROOT.parent / "shared" / "data" / "esco_occupations_v1_0"
SIM_QUERY_LIMIT = 5_000  # talents sampled as queries at full scale (60,000 would add minutes)
COURSES_PER_MATCH = 3
METRIC_NAMES = (*(f"recall_at_{k}" for k in KS), "mrr")


def evaluate_esco(
    esco_dir: Path, query_limit: int | None = None, corpus_limit: int | None = None
) -> pl.DataFrame:
    """Embeddings against TF-IDF on ESCO's alternative labels (one row per method)."""
    esco = load_esco(esco_dir, query_limit, corpus_limit)
    started = time.perf_counter()
    doc_vectors = encode(esco.task.doc_texts)
    query_vectors = encode(esco.task.query_texts)
    log.info(
        "ESCO: embedded %d occupations and %d queries in %.0f s",
        len(esco.task.doc_texts),
        len(esco.task.query_texts),
        time.perf_counter() - started,
    )
    return compare_methods(esco.task, query_vectors, doc_vectors)


def _simulator_queries(
    data: MatchingData, seed: int, query_limit: int
) -> tuple[np.ndarray, np.ndarray]:
    """The talents (rows, a sample of `query_limit` at most) that query the open jobs (rows)."""
    open_rows = np.flatnonzero(data.jobs.get_column("is_open").to_numpy())
    talent_rows = np.arange(data.talents.height)
    if talent_rows.size > query_limit:
        talent_rows = np.sort(np.random.default_rng(seed).permutation(talent_rows)[:query_limit])
    return talent_rows, open_rows


def simulator_unevaluable(
    data: MatchingData, seed: int, query_limit: int = SIM_QUERY_LIMIT
) -> str | None:
    """Why the simulator's matches cannot be scored on this lake, or None when they can: no
    talents or no open jobs yet, or no talent whose profession any open job is of (a lake of a
    single day at a small scale: one open job, a dozen talents)."""
    talent_rows, open_rows = _simulator_queries(data, seed, query_limit)
    if talent_rows.size == 0 or open_rows.size == 0:
        return f"{data.talents.height} talents and {open_rows.size} open jobs in silver"
    job_ids = data.jobs.get_column("job_id").to_numpy()[open_rows]
    talent_ids = data.talents.get_column("talent_id").to_numpy()[talent_rows]
    professions = {true_profession(seed, job) for job in job_ids}
    if not any(true_profession(seed, talent) in professions for talent in talent_ids):
        return (
            f"no talent of the {talent_rows.size} has the profession of any of the "
            f"{open_rows.size} open jobs in silver"
        )
    return None


def evaluate_simulator(
    data: MatchingData, texts: pl.DataFrame, seed: int, query_limit: int = SIM_QUERY_LIMIT
) -> pl.DataFrame:
    """Embeddings against TF-IDF on the simulator: talents as queries against open jobs,
    relevant = jobs drawn from the talent's true profession (one row per method)."""
    if reason := simulator_unevaluable(data, seed, query_limit):
        raise ValueError(f"simulator matches cannot be evaluated: {reason}")
    text_of = {(t, i): text for t, i, text in texts.iter_rows()}
    talent_rows, open_rows = _simulator_queries(data, seed, query_limit)
    talent_ids = data.talents.get_column("talent_id").to_numpy()[talent_rows].tolist()
    job_ids = data.jobs.get_column("job_id").to_numpy()[open_rows].tolist()
    task = simulator_task(
        seed,
        talent_ids,
        [text_of[("talent", t)] for t in talent_ids],
        job_ids,
        [text_of[("job", j)] for j in job_ids],
    )
    return compare_methods(task, data.talent_vectors[talent_rows], data.job_vectors[open_rows])


def comparison_chart(evaluation: pl.DataFrame, out: Path) -> Path:
    """Bars of recall@k and MRR, embeddings beside TF-IDF, one panel per labelled set."""
    datasets = evaluation.get_column("dataset").unique(maintain_order=True).to_list()
    fig, axes = plt.subplots(1, len(datasets), figsize=(5.5 * len(datasets), 4), squeeze=False)
    x = np.arange(len(METRIC_NAMES))
    for ax, dataset in zip(axes[0], datasets, strict=True):
        rows = evaluation.filter(pl.col("dataset") == dataset)
        for offset, (method, colour) in enumerate(
            (("embedding", "tab:blue"), ("tfidf", "tab:grey"))
        ):
            values = rows.filter(pl.col("method") == method).select(METRIC_NAMES).row(0)
            bars = ax.bar(x + (offset - 0.5) * 0.38, values, 0.38, label=method, color=colour)
            ax.bar_label(bars, fmt="%.2f", fontsize=7)
        queries = rows.get_column("queries")[0]
        ax.set_title(f"{dataset} ({queries:,} queries, {rows.get_column('documents')[0]:,} docs)")
        ax.set_xticks(
            x,
            [{"mrr": "MRR"}.get(m, m.replace("recall_at_", "recall@")) for m in METRIC_NAMES],
        )
        ax.set_ylim(0, 1.2)
        ax.legend(loc="upper center", ncols=2, fontsize=8)
    fig.suptitle("Talent matching: all-MiniLM-L6-v2 embeddings vs TF-IDF baseline")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def _metrics(evaluation: pl.DataFrame) -> dict[str, float]:
    metrics: dict[str, float] = {}
    for row in evaluation.iter_rows(named=True):
        prefix = f"{row['dataset']}.{row['method']}"
        metrics |= {f"{prefix}.{name}": float(row[name]) for name in METRIC_NAMES}
    return metrics


def headline(evaluation: pl.DataFrame) -> str:
    """recall@10 and MRR of the embeddings beside the TF-IDF baseline, per labelled set."""
    parts = []
    for dataset in evaluation.get_column("dataset").unique(maintain_order=True):
        rows = {
            r["method"]: r
            for r in evaluation.filter(pl.col("dataset") == dataset).iter_rows(named=True)
        }
        emb, tfidf = rows["embedding"], rows["tfidf"]
        parts.append(
            f"{dataset} ({emb['queries']:,} queries): recall@10 {emb['recall_at_10']:.3f} "
            f"vs TF-IDF {tfidf['recall_at_10']:.3f}, MRR {emb['mrr']:.3f} vs {tfidf['mrr']:.3f}"
        )
    return "; ".join(parts)


def markdown_table(evaluation: pl.DataFrame) -> str:
    header = "| set | method | queries | documents | recall@1 | recall@5 | recall@10 | MRR |"
    lines = [header, "|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in evaluation.iter_rows(named=True):
        lines.append(
            f"| {r['dataset']} | {r['method']} | {r['queries']:,} | {r['documents']:,} | "
            + " | ".join(f"{r[name]:.3f}" for name in METRIC_NAMES)
            + " |"
        )
    return "\n".join(lines)


def report_markdown(summary: dict[str, Any], settings: LakehouseSettings, command: str) -> str:
    """The run's figures as a markdown page, the command that produced them at the top."""
    versions = ", ".join(f"{name} v{v}" for name, v in summary["data_versions"].items())
    counts = ", ".join(
        f"{value:,} {name.replace('_', ' ')}" for name, value in summary["counts"].items()
    )
    embedded = summary["embeddings"]
    timings = ", ".join(f"{name} {value:.0f} s" for name, value in summary["seconds"].items())
    return "\n".join(
        [
            "# Talent matching: all-MiniLM-L6-v2 embeddings vs a TF-IDF baseline",
            "",
            "Produced by:",
            "",
            f"    LAKEHOUSE_HOME={settings.home} LAKEHOUSE_LAKE_URI={settings.lake_uri} \\",
            f"      {command}",
            "",
            f"MLflow run `{summary['run_id']}` (experiment `{EXPERIMENT}`, "
            f"{settings.mlflow_tracking_uri}), {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; "
            f"model {summary['model_name']} `{summary['model_version']}`.",
            "",
            f"Read: {versions}. Platform: {counts}. Embeddings: {embedded['new']:,} new, "
            f"{embedded['changed']:,} changed, {embedded['reused']:,} reused, "
            f"{embedded['removed']:,} removed. Gold: {summary['gold_rows']:,} rows in "
            f"{summary['gold_table']} v{summary['gold_version']}.",
            "",
            f"**Headline** (embeddings vs TF-IDF): {summary['headline']}.",
            "",
            markdown_table(pl.DataFrame(summary["evaluation"])),
            "",
            "sim: talents as queries against the open jobs, relevant = jobs drawn from the "
            "talent's hidden profession (`pipelines.sources.ucs.true_profession`). esco: ESCO "
            "v1.0 alternative labels as queries against the 2,942 occupations (preferred label "
            "+ description), relevant = every occupation carrying that label. recall@k = "
            "|relevant in top k| / min(k, |relevant|); ties ordered by a fixed random "
            "permutation. TF-IDF: sublinear tf, word 1-2 grams, fitted on the documents.",
            "",
            f"Timings: {timings}.",
            "",
        ]
    )


def run_talent_matching(
    settings: LakehouseSettings,
    k: int = 10,
    esco_dir: Path | None = None,
    esco_limit: int | None = None,
    esco_corpus_limit: int | None = None,
    evaluate_esco_set: bool = True,
) -> dict[str, Any]:
    """Embed, evaluate, write `gold/ml_talent_job_matches` and register the embedder (once per
    model version: `register_embedder`).

    `evaluate_esco_set=False` leaves ESCO to `run_esco_evaluation` (the daily pipeline does:
    the labelled set does not change from day to day, and embedding it takes minutes).

    `esco_dir` defaults to the shared ESCO set; when that default is absent the ESCO
    evaluation is skipped (and tagged), an explicit folder must exist. `esco_limit` samples
    the ESCO queries, `esco_corpus_limit` the occupations (quick checks only).
    """
    check_tracking_server(configure(settings))  # before the embedding, not after
    esco_folder = esco_dir or DEFAULT_ESCO_DIR
    if esco_dir is not None and not esco_dir.is_dir():
        raise FileNotFoundError(f"ESCO labelled set: no folder {esco_dir}")
    seconds: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        seconds[name] = round(now - clock, 2)
        clock = now

    frames, versions = read_silver(settings)
    texts = entity_texts(frames["talents"], frames["jobs"], frames["courses"])
    load_encoder()
    lap("read_and_load_model")
    with tracked_run(settings, EXPERIMENT, "talent_matching") as run:
        run_id = run.info.run_id
        out = settings.home / "ml" / EXPERIMENT / run_id
        update = update_embeddings(settings, texts)
        store, store_version = read_store(settings)
        versions["silver/ucs_embeddings"] = int(store_version or 0)
        lap("embed")
        data = MatchingData.from_frames(frames["talents"], frames["jobs"], frames["courses"], store)
        open_jobs = int(data.jobs.get_column("is_open").sum())
        counts = {
            "talents": data.talents.height,
            "jobs": data.jobs.height,
            "open_jobs": open_jobs,
            "courses": data.courses.height,
        }
        log_data_versions(versions)
        vectorizer = tfidf_vectorizer()
        mlflow.log_params(
            {
                "model_name": MODEL_NAME,
                "model_version": model_version(),
                "k": k,
                "courses_per_match": COURSES_PER_MATCH,
                "esco_dir": str(esco_folder),
                "esco_limit": esco_limit,
                "esco_corpus_limit": esco_corpus_limit,
                "sim_query_limit": SIM_QUERY_LIMIT,
                "simulation_seed": settings.simulation_seed,
                "tfidf.sublinear_tf": vectorizer.sublinear_tf,
                "tfidf.ngram_range": str(vectorizer.ngram_range),
                **{f"count.{name}": value for name, value in counts.items()},
            }
        )
        mlflow.log_metrics(
            {
                "embeddings.new": update.new,
                "embeddings.changed": update.changed,
                "embeddings.reused": update.reused,
                "embeddings.removed": update.removed,
            }
        )

        evaluations = []
        if skipped := simulator_unevaluable(data, settings.simulation_seed):
            log.warning("simulator evaluation skipped: %s", skipped)
            mlflow.set_tag("sim_skipped", skipped)
        else:
            evaluations.append(evaluate_simulator(data, texts, settings.simulation_seed))
        lap("evaluate_simulator")
        if not evaluate_esco_set:
            mlflow.set_tag("esco_skipped", "evaluated by its own run (run_esco_evaluation)")
        elif esco_folder.is_dir():
            evaluations.append(evaluate_esco(esco_folder, esco_limit, esco_corpus_limit))
        else:
            log.warning("ESCO labelled set not found at %s: ESCO evaluation skipped", esco_folder)
            mlflow.set_tag("esco_skipped", f"no folder {esco_folder}")
        lap("evaluate_esco")
        evaluation = pl.concat(evaluations) if evaluations else pl.DataFrame()
        metrics = _metrics(evaluation)
        mlflow.log_metrics(metrics)
        csv: Path | None = None
        chart: Path | None = None
        if evaluations:
            csv = out / "evaluation.csv"
            csv.parent.mkdir(parents=True, exist_ok=True)
            evaluation.write_csv(csv)
            mlflow.log_artifact(str(csv), artifact_path="evaluation")
            chart = comparison_chart(evaluation, out / "embedding_vs_tfidf.png")
            log_figure_file(chart)
            summary_line = headline(evaluation)
        else:
            summary_line = f"not evaluated: {skipped}"
        mlflow.set_tag("headline", summary_line)

        matches = current_matches(
            data, k, COURSES_PER_MATCH, mlflow_run_id=run_id, computed_at=datetime.now(UTC)
        )
        gold_version = write_gold(settings, GOLD_TABLE, matches)
        mlflow.log_params({"gold_table": f"gold/{GOLD_TABLE}", "gold_version": gold_version})
        mlflow.log_metric("gold.rows", matches.height)
        lap("gold")

        model_uri, registered_version = register_embedder(REGISTERED_MODEL)
        mlflow.log_params(
            {"registered_model": REGISTERED_MODEL, "registered_model_version": registered_version}
        )
        lap("register_model")
        mlflow.log_metrics({f"seconds.{name}": value for name, value in seconds.items()})

    return {
        "run_id": run_id,
        "experiment": EXPERIMENT,
        "model_name": MODEL_NAME,
        "model_version": model_version(),
        "data_versions": versions,
        "embeddings": {
            "new": update.new,
            "changed": update.changed,
            "reused": update.reused,
            "removed": update.removed,
            "store_version": update.version,
        },
        "counts": counts,
        "evaluation": evaluation.to_dicts(),
        "metrics": metrics,
        "headline": summary_line,
        "evaluation_csv": csv,
        "chart": chart,
        "gold_table": f"gold/{GOLD_TABLE}",
        "gold_version": gold_version,
        "gold_rows": matches.height,
        "model_uri": model_uri,
        "registered_model": REGISTERED_MODEL,
        "registered_model_version": registered_version,
        "seconds": seconds,
    }


def run_esco_evaluation(
    settings: LakehouseSettings,
    esco_dir: Path | None = None,
    esco_limit: int | None = None,
    esco_corpus_limit: int | None = None,
) -> dict[str, Any]:
    """The embeddings against TF-IDF on the ESCO labelled set, as one MLflow run of its own."""
    esco_folder = esco_dir or DEFAULT_ESCO_DIR
    if not esco_folder.is_dir():
        raise FileNotFoundError(f"ESCO labelled set: no folder {esco_folder}")
    load_encoder()
    with tracked_run(settings, EXPERIMENT, "esco_evaluation") as run:
        mlflow.log_params(
            {
                "model_name": MODEL_NAME,
                "model_version": model_version(),
                "esco_dir": str(esco_folder),
                "esco_limit": esco_limit,
                "esco_corpus_limit": esco_corpus_limit,
            }
        )
        evaluation = evaluate_esco(esco_folder, esco_limit, esco_corpus_limit)
        metrics = _metrics(evaluation)
        mlflow.log_metrics(metrics)
        out = settings.home / "ml" / EXPERIMENT / run.info.run_id
        out.mkdir(parents=True, exist_ok=True)
        csv = out / "esco_evaluation.csv"
        evaluation.write_csv(csv)
        mlflow.log_artifact(str(csv), artifact_path="evaluation")
        chart = comparison_chart(evaluation, out / "esco_embedding_vs_tfidf.png")
        log_figure_file(chart)
        summary_line = headline(evaluation)
        mlflow.set_tag("headline", summary_line)
    return {
        "run_id": run.info.run_id,
        "metrics": metrics,
        "headline": summary_line,
        "chart": chart,
        "evaluation": evaluation.to_dicts(),
    }


def register_embedder(name: str) -> tuple[str, int]:
    """The registered embedder of this model version (its URI and version number): registered
    from the active run, and checked to load back and embed as the job does, only when no
    version of `name` serves these weights on this runtime yet (`model_version` and `runtime`
    tags). The weights do not change from day to day, so a daily run adds no new version; a
    new model version gets one (and so did the first run after the pyfunc moved from PyTorch to
    ONNX Runtime)."""
    client = mlflow.MlflowClient()
    version_now = model_version()
    for registered in client.search_model_versions(f"name = '{name}'"):
        tags = registered.tags
        if tags.get(MODEL_VERSION_TAG) == version_now and tags.get(RUNTIME_TAG) == PYFUNC_RUNTIME:
            return f"models:/{name}/{registered.version}", int(registered.version)
    info = log_text_embedder(name)
    _check_round_trip(info.model_uri)
    if info.registered_model_version is None:  # registered_model_name was given
        raise RuntimeError(f"{info.model_uri} was logged but not registered as {name}")
    version = int(info.registered_model_version)
    client.set_model_version_tag(name, str(version), MODEL_VERSION_TAG, version_now)
    client.set_model_version_tag(name, str(version), RUNTIME_TAG, PYFUNC_RUNTIME)
    return f"models:/{name}/{version}", version


def _check_round_trip(model_uri: str) -> None:
    """The logged pyfunc loads back and embeds as the job did."""
    example = pd.DataFrame({"text": ["Junior Accountant with 1C", "Nurse in a polyclinic"]})
    predicted = np.asarray(mlflow.pyfunc.load_model(model_uri).predict(example))
    expected = encode(example["text"].tolist())
    if predicted.shape != expected.shape or not np.allclose(predicted, expected, atol=1e-5):
        raise RuntimeError(
            f"{model_uri}: the loaded pyfunc embeds differently from the job "
            f"(shape {predicted.shape} vs {expected.shape})"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m ml.embeddings", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="the whole job on the lake of LakehouseSettings()")
    run.add_argument("--k", type=int, default=10)
    run.add_argument("--esco-dir", type=Path, default=None)
    run.add_argument("--esco-limit", type=int, default=None)
    run.add_argument("--report", type=Path, default=None, help="write the results as markdown")
    esco = commands.add_parser("evaluate-esco", help="ESCO only: embeddings vs TF-IDF")
    esco.add_argument("--esco-dir", type=Path, default=DEFAULT_ESCO_DIR)
    esco.add_argument("--limit", type=int, default=None, help="sample this many queries")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if args.command == "evaluate-esco":
        print(markdown_table(evaluate_esco(args.esco_dir, args.limit)))
        return
    settings = LakehouseSettings()
    summary = run_talent_matching(settings, args.k, args.esco_dir, args.esco_limit)
    table = markdown_table(pl.DataFrame(summary["evaluation"]))
    print(table)
    print(summary["headline"])
    print({key: summary[key] for key in ("run_id", "counts", "embeddings", "gold_rows", "seconds")})
    if args.report:
        command = "python -m ml.embeddings " + " ".join(argv or sys.argv[1:])
        args.report.write_text(report_markdown(summary, settings, command))


if __name__ == "__main__":
    main()
