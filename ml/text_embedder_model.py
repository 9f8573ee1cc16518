"""The MLflow pyfunc of the UCS text embedder, logged as code (`mlflow.models.set_model`).

Self-contained on purpose: the model's artifacts are its transformer exported to ONNX, the
model's tokenizer and its sentence-transformers config; `onnx_encoder.py` is shipped beside this
file (`code_paths`). A model server needs the pinned onnxruntime, tokenizers and numpy: not
torch, sentence-transformers, the weights' package or this project.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
from mlflow.pyfunc import PythonModel, PythonModelContext


class TextEmbedder(PythonModel):
    """`text` column in, one normalised 384-float all-MiniLM-L6-v2 embedding per row out."""

    def load_context(self, context: PythonModelContext) -> None:
        # On the path when MLflow loads the model (the model's `code` folder); not when it
        # only reads this file to save it.
        from onnx_encoder import OnnxEncoder  # type: ignore[import-not-found]

        config = json.loads(Path(context.artifacts["sentence_bert_config"]).read_text())
        self.encoder = OnnxEncoder(
            context.artifacts["transformer"],
            context.artifacts["tokenizer"],
            int(config["max_seq_length"]),
        )

    def predict(
        self,
        context: PythonModelContext,
        model_input: pd.DataFrame,
        params: dict[str, Any] | None = None,
    ) -> np.ndarray:
        return np.asarray(self.encoder.encode([str(t) for t in model_input["text"]]))


mlflow.models.set_model(TextEmbedder())
