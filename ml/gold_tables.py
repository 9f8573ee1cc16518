"""The gold tables the ML jobs write, by name only.

Importing this costs nothing, so the Dagster definitions name the jobs' assets without
importing MLflow, scikit-learn or matplotlib: every process that loads the definitions (each
step's under the multiprocess executor, the code server) would otherwise pay ~3 s for them.
"""

GOLD_LAYER = "gold"
FORECAST_TABLE = "ml_morbidity_forecast"  # ml.forecast
METRICS_TABLE = "ml_forecast_metrics"  # ml.forecast
MATCHES_TABLE = "ml_talent_job_matches"  # ml.embeddings
ULL_SCORES_TABLE = "ml_ull_scores"  # ml.ull
ULL_FACTOR_SCORES_TABLE = "ml_ull_factor_scores"  # ml.ull
ULL_WEIGHTS_TABLE = "ml_ull_weights"  # ml.ull
