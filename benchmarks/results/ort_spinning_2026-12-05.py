"""ONNX Runtime's spinning threads beside other work: the encoder's texts per second and CPU
seconds alone and beside one and two busy processes, with its threads spinning (ONNX Runtime's
default) and sleeping (the encoder's setting since 2026-12-05), alternating.

    .venv/bin/python benchmarks/results/ort_spinning_2026-12-05.py [texts] [rounds]

The texts are ESCO's occupations (label and description, as the evaluation embeds them); the
busy processes are Python loops, one per core they take.
"""

import subprocess
import sys
import time

import numpy as np
import polars as pl

from ml.embeddings import DEFAULT_ESCO_DIR
from ml.eval_retrieval import occupation_text
from ml.text_embeddings import onnx_encoder, onnx_model_file

N = int(sys.argv[1]) if len(sys.argv) > 1 else 400
ROUNDS = int(sys.argv[2]) if len(sys.argv) > 2 else 2


def main() -> None:
    occupations = pl.read_csv(DEFAULT_ESCO_DIR / "occupations.csv", infer_schema=False)
    texts = [
        occupation_text(label, description)
        for label, description in occupations.select("preferred_label", "description").iter_rows()
    ][:N]
    encoders = {
        name: onnx_encoder(onnx_model_file(), spinning=name == "spinning")
        for name in ("spinning", "sleeping")
    }
    first = {name: encoder.encode(texts[:32]) for name, encoder in encoders.items()}
    print(f"largest difference {np.abs(first['spinning'] - first['sleeping']).max():.1e}")
    for busy in (0, 1, 2):
        loops = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(busy)]
        time.sleep(0.5)
        try:
            for round_ in range(ROUNDS):
                for name, encoder in encoders.items():
                    wall, cpu = time.perf_counter(), time.process_time()
                    encoder.encode(texts)
                    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
                    print(
                        f"busy={busy} round={round_} {name:8s} {len(texts) / wall:6.1f} texts/s"
                        f"  wall {wall:6.2f} s  cpu {cpu:6.2f} s",
                        flush=True,
                    )
        finally:
            for loop in loops:
                loop.kill()


if __name__ == "__main__":
    main()
