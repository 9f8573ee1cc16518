"""Retrieval metrics (recall@k, MRR), the TF-IDF baseline, and the two labelled sets the
matching is judged on: the simulator's hidden professions and ESCO's alternative labels.

recall@k of a query is |relevant in the top k| / min(k, |relevant|), so a query with one
relevant document scores 1 when it is in the top k; MRR averages 1 / rank of the first
relevant document. Queries without any relevant document are left out (and counted).
Equal scores are ordered by a fixed random permutation of the documents, so neither method
gains from the order the documents happen to be listed in (TF-IDF scores many at exactly 0).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
from sklearn.feature_extraction.text import TfidfVectorizer

from pipelines.sources.ucs import true_profession

KS = (1, 5, 10)
METHODS = ("embedding", "tfidf")
QUERY_CHUNK = 1024  # score and rank this many queries at a time (memory stays ~100 MB)
TIE_SEED = 20200301


# -- metrics -----------------------------------------------------------------------------------
def recall_at_k(ranked: Sequence[str], relevant: Collection[str], k: int) -> float:
    """|relevant ∩ top-k| / min(k, |relevant|) of one ranked list."""
    if not relevant:
        raise ValueError("recall@k is undefined for a query without relevant documents")
    hits = len(set(ranked[:k]) & set(relevant))
    return hits / min(k, len(relevant))


def reciprocal_rank(ranked: Sequence[str], relevant: Collection[str]) -> float:
    """1 / the rank of the first relevant document; 0 when none is ranked."""
    for position, doc in enumerate(ranked, start=1):
        if doc in relevant:
            return 1.0 / position
    return 0.0


def ranks(scores: np.ndarray, seed: int = TIE_SEED) -> np.ndarray:
    """The 1-based rank of every document for every query (rows), best score first."""
    tie_order = np.random.default_rng(seed).permutation(scores.shape[1])
    order = tie_order[np.argsort(-scores[:, tie_order], axis=1, kind="stable")]
    result = np.empty_like(order)
    np.put_along_axis(result, order, np.arange(1, scores.shape[1] + 1)[None, :], axis=1)
    return result


@dataclass
class MetricSums:
    """Running sums of per-query metrics, so queries can be scored in chunks."""

    queries: int = 0
    without_relevant: int = 0
    reciprocal_ranks: float = 0.0
    recalls: dict[int, float] | None = None

    def add(self, scores: np.ndarray, relevant: np.ndarray, ks: Sequence[int] = KS) -> None:
        """Add a chunk: scores and a boolean relevance mask, both queries x documents."""
        recalls = self.recalls if self.recalls is not None else dict.fromkeys(ks, 0.0)
        has_relevant = relevant.any(axis=1)
        self.without_relevant += int((~has_relevant).sum())
        scores, relevant = scores[has_relevant], relevant[has_relevant]
        self.queries += scores.shape[0]
        if scores.shape[0]:
            relevant_ranks = np.where(relevant, ranks(scores), np.iinfo(np.int64).max)
            self.reciprocal_ranks += float((1.0 / relevant_ranks.min(axis=1)).sum())
            n_relevant = relevant.sum(axis=1)
            for k in ks:
                hits = (relevant_ranks <= k).sum(axis=1)
                recalls[k] += float((hits / np.minimum(k, n_relevant)).sum())
        self.recalls = recalls

    def means(self) -> dict[str, float]:
        """recall_at_<k> and mrr averaged over the queries with a relevant document."""
        if not self.queries or self.recalls is None:
            raise ValueError("no query with a relevant document was scored")
        result = {f"recall_at_{k}": total / self.queries for k, total in self.recalls.items()}
        result["mrr"] = self.reciprocal_ranks / self.queries
        return result


def retrieval_metrics(
    scores: np.ndarray, relevant: np.ndarray, ks: Sequence[int] = KS
) -> dict[str, float]:
    """recall@k and MRR of a score matrix against a relevance mask (queries x documents)."""
    sums = MetricSums()
    sums.add(scores, relevant, ks)
    return sums.means()


# -- the two methods ---------------------------------------------------------------------------
def tfidf_vectorizer() -> TfidfVectorizer:
    """The lexical baseline: sublinear tf, word unigrams and bigrams, English lowercase."""
    return TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2))


@dataclass(frozen=True)
class RetrievalTask:
    """Queries against documents with known relevant documents (indices into `doc_texts`)."""

    name: str
    query_texts: list[str]
    doc_texts: list[str]
    relevant: list[np.ndarray]

    def relevance_mask(self, rows: slice) -> np.ndarray:
        selected = self.relevant[rows]
        mask = np.zeros((len(selected), len(self.doc_texts)), dtype=bool)
        for row, docs in enumerate(selected):
            mask[row, docs] = True
        return mask


def _evaluate(
    task: RetrievalTask, scores_of: Callable[[slice], np.ndarray], ks: Sequence[int]
) -> tuple[dict[str, float], int]:
    sums = MetricSums()
    for start in range(0, len(task.query_texts), QUERY_CHUNK):
        rows = slice(start, start + QUERY_CHUNK)
        sums.add(scores_of(rows), task.relevance_mask(rows), ks)
    if sums.queries == 0:
        raise ValueError(
            f"{task.name}: none of the {len(task.query_texts)} queries has a relevant document "
            f"among the {len(task.doc_texts)} documents"
        )
    return sums.means(), sums.without_relevant


def compare_methods(
    task: RetrievalTask,
    query_vectors: np.ndarray,
    doc_vectors: np.ndarray,
    ks: Sequence[int] = KS,
) -> pl.DataFrame:
    """recall@k and MRR of the embeddings (cosine of normalised vectors) and of TF-IDF (cosine
    of tf-idf vectors fitted on the documents) on the same task: one row per method."""
    vectorizer = tfidf_vectorizer()
    doc_tfidf = vectorizer.fit_transform(task.doc_texts)
    query_tfidf = vectorizer.transform(task.query_texts)
    scorers: dict[str, Callable[[slice], np.ndarray]] = {
        "embedding": lambda rows: query_vectors[rows] @ doc_vectors.T,
        "tfidf": lambda rows: (query_tfidf[rows] @ doc_tfidf.T).toarray(),
    }
    rows = []
    for method in METHODS:
        metrics, without_relevant = _evaluate(task, scorers[method], ks)
        rows.append(
            {
                "dataset": task.name,
                "method": method,
                "queries": len(task.query_texts) - without_relevant,
                "queries_without_relevant": without_relevant,
                "documents": len(task.doc_texts),
                **metrics,
            }
        )
    return pl.DataFrame(rows)


# -- the simulator's hidden professions --------------------------------------------------------
def simulator_task(
    seed: int,
    talent_ids: Sequence[str],
    talent_texts: Sequence[str],
    job_ids: Sequence[str],
    job_texts: Sequence[str],
) -> RetrievalTask:
    """Talents as queries against (open) jobs; relevant = jobs of the talent's true profession."""
    job_professions = np.array([true_profession(seed, j) for j in job_ids])
    relevant = [np.flatnonzero(job_professions == true_profession(seed, t)) for t in talent_ids]
    return RetrievalTask("sim", list(talent_texts), list(job_texts), relevant)


# -- ESCO occupations and their alternative labels ---------------------------------------------
@dataclass(frozen=True)
class EscoSet:
    """ESCO occupations (label + description) and alternative-label queries."""

    occupation_ids: list[str]
    query_ids: list[str]
    task: RetrievalTask


def occupation_text(preferred_label: str, description: str | None) -> str:
    return f"{preferred_label}. {description or ''}".strip()


def _sample(count: int, limit: int | None, seed: int) -> np.ndarray:
    """Sorted indices of a deterministic sample of `limit` out of `count` (all if no limit)."""
    if limit is None or limit >= count:
        return np.arange(count)
    return np.sort(np.random.default_rng(seed).permutation(count)[:limit])


def load_esco(
    esco_dir: Path,
    query_limit: int | None = None,
    corpus_limit: int | None = None,
    seed: int = 42,
) -> EscoSet:
    """The ESCO labelled set from `occupations.csv` and `eval_alt_label_queries.csv`.

    `query_limit` keeps a deterministic sample of the queries; `corpus_limit` keeps every
    occupation relevant to a kept query plus a deterministic sample of the others up to that
    many documents (an easier task: only for quick checks, never for reported figures).
    """
    occupations_csv = esco_dir / "occupations.csv"
    queries_csv = esco_dir / "eval_alt_label_queries.csv"
    for path in (occupations_csv, queries_csv):
        if not path.exists():
            raise FileNotFoundError(f"ESCO labelled set: {path} is missing (see SOURCE.txt)")
    occupations = pl.read_csv(occupations_csv, infer_schema=False)
    queries = pl.read_csv(queries_csv, infer_schema=False)
    queries = queries[_sample(queries.height, query_limit, seed)]
    matching = [ids.split(";") for ids in queries.get_column("all_matching_occupation_ids")]
    if corpus_limit is not None and corpus_limit < occupations.height:
        needed = {i for ids in matching for i in ids}
        is_needed = occupations.get_column("occupation_id").is_in(list(needed))
        others = occupations.filter(~is_needed)
        room = max(corpus_limit - int(is_needed.sum()), 0)
        occupations = pl.concat(
            [occupations.filter(is_needed), others[_sample(others.height, room, seed + 1)]]
        ).sort("occupation_id")
    occupation_ids = occupations.get_column("occupation_id").to_list()
    position = {occupation: i for i, occupation in enumerate(occupation_ids)}
    unknown = sorted({i for ids in matching for i in ids} - position.keys())
    if corpus_limit is None and unknown:
        raise ValueError(
            f"{queries_csv}: {len(unknown)} gold occupation ids are not in {occupations_csv}, "
            f"e.g. {unknown[0]}"
        )
    relevant = [np.array(sorted(position[i] for i in ids if i in position)) for ids in matching]
    documents = [
        occupation_text(label, description)
        for label, description in occupations.select("preferred_label", "description").iter_rows()
    ]
    task = RetrievalTask("esco", queries.get_column("query_text").to_list(), documents, relevant)
    return EscoSet(occupation_ids, queries.get_column("query_id").to_list(), task)
