"""The embedder's first registration in a fresh tracking store, in a fresh process: seconds,
and whether torch was imported. Run from the checkout to measure (its `ml` on the path):

    cd <checkout> && <repo>/.venv/bin/python <repo>/benchmarks/results/register_embedder_2026-12-04.py
"""

import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.getcwd())
os.environ["HF_HUB_OFFLINE"] = "1"
import mlflow  # noqa: E402

from ml.embeddings import register_embedder  # noqa: E402
from ml.text_embeddings import encode  # noqa: E402

with tempfile.TemporaryDirectory() as tmp:
    mlflow.set_tracking_uri(f"sqlite:///{tmp}/mlflow.db")
    mlflow.set_experiment(
        experiment_id=mlflow.create_experiment("register", artifact_location=f"{tmp}/artifacts")
    )
    encode(["warm the encoder as the job has by then"])
    with mlflow.start_run():
        began = time.perf_counter()
        uri, version = register_embedder("ucs_text_embedder")
        seconds = time.perf_counter() - began
    size = sum(
        os.path.getsize(os.path.join(folder, name))
        for folder, _, names in os.walk(tmp)
        for name in names
    )
    print(
        json.dumps(
            {
                "register_s": round(seconds, 2),
                "torch_imported": "torch" in sys.modules,
                "uri": uri,
                "store_mib": round(size / 2**20, 1),
            }
        )
    )
