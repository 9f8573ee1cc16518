"""The day's UCS texts of a full-scale home, embedded by the ONNX encoder and by PyTorch's
`SentenceTransformer.encode` in one process: throughput, the largest difference between the
vectors, and whether the token ids are the same.

    LAKEHOUSE_HOME=<a home after `lakehouse run ... --scale 1.0`> \\
      .venv/bin/python benchmarks/results/onnx_vs_torch_2026-12-04.py
"""

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import numpy as np  # noqa: E402

from ml import text_embeddings as te  # noqa: E402
from ml.matching import read_silver  # noqa: E402
from pipelines.settings import LakehouseSettings  # noqa: E402

frames, _ = read_silver(LakehouseSettings())
texts = te.entity_texts(frames["talents"], frames["jobs"], frames["courses"])["text"].to_list()
began = time.perf_counter()
te.load_encoder()
print(f"{len(texts)} texts; ONNX encoder loaded in {time.perf_counter() - began:.2f} s")
began = time.perf_counter()
onnx = te.encode(texts)
print(f"ONNX Runtime {len(texts) / (time.perf_counter() - began):.1f} texts/s")
model = te.load_model()
began = time.perf_counter()
torch = model.encode(texts, batch_size=te.ENCODE_BATCH, normalize_embeddings=True)
print(f"PyTorch {len(texts) / (time.perf_counter() - began):.1f} texts/s")
print(f"largest difference {np.abs(torch - onnx).max():.2e}")
stripped = [t.strip() for t in texts]
reference = model.tokenizer(stripped, truncation=True, max_length=te.max_seq_length())["input_ids"]
tokenizer = te.load_encoder().tokenizer
tokenizer.no_padding()
print("same token ids:", [e.ids for e in tokenizer.encode_batch(stripped)] == reference)
