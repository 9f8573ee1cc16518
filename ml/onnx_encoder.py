"""A sentence-transformers model's embeddings computed by ONNX Runtime.

Self-contained on purpose (numpy, onnxruntime, tokenizers): the job's encoder
(`ml.text_embeddings`) and the registered pyfunc (`ml/text_embedder_model.py`, which ships this
file beside its ONNX graph and tokenizer) run the same code, and a model server needs neither
torch nor this project.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

PAD = "[PAD]"


class OnnxEncoder:
    """The model as `SentenceTransformer.encode` computes it (stripped text, the model's
    WordPiece tokenizer cut at max_seq_length, the transformer, mean pooling over real tokens,
    L2 normalisation), the transformer run by ONNX Runtime."""

    def __init__(
        self,
        onnx_file: Path | str,
        tokenizer_file: Path | str,
        max_seq_length: int,
        *,
        spinning: bool = False,
    ):
        """`spinning`: ONNX Runtime's default, its worker threads spinning between operators
        instead of sleeping. Off here: the encoder shares the machine with other steps (a
        Dagster run's, a model server's), and beside one busy process on two cores the
        spinning threads took ~25% more CPU for ~20% fewer texts a second; alone, the same
        throughput (BENCHMARKS.md, "ONNX Runtime's threads beside other work")."""
        import onnxruntime  # here: importing this module costs a process nothing until it embeds
        from tokenizers import Tokenizer

        self.tokenizer = Tokenizer.from_file(str(tokenizer_file))
        self.tokenizer.enable_truncation(max_length=max_seq_length)
        self.tokenizer.enable_padding(pad_id=self.tokenizer.token_to_id(PAD), pad_token=PAD)
        options = onnxruntime.SessionOptions()
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3  # errors only
        options.add_session_config_entry(
            "session.intra_op.allow_spinning", "1" if spinning else "0"
        )
        self.session = onnxruntime.InferenceSession(
            str(onnx_file), options, providers=["CPUExecutionProvider"]
        )
        self.dimension = int(self.session.get_outputs()[0].shape[-1])

    def encode(self, texts: Sequence[str], batch_size: int = 16) -> np.ndarray:
        """Normalised float32 embeddings (len(texts) x dimension); longest texts first in
        batches (as sentence-transformers orders them, so a batch pads little)."""
        stripped = [str(text).strip() for text in texts]
        order = np.argsort([-len(text) for text in stripped], kind="stable")
        out = np.empty((len(stripped), self.dimension), dtype=np.float32)
        for start in range(0, len(stripped), batch_size):
            rows = order[start : start + batch_size]
            batch = self.tokenizer.encode_batch([stripped[i] for i in rows])
            mask = np.array([e.attention_mask for e in batch], dtype=np.int64)
            (hidden,) = self.session.run(
                None,
                {
                    "input_ids": np.array([e.ids for e in batch], dtype=np.int64),
                    "attention_mask": mask,
                    "token_type_ids": np.array([e.type_ids for e in batch], dtype=np.int64),
                },
            )
            weights = mask[..., None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
            norms = np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
            out[rows] = pooled / norms
        return out
