{# Backtest skill per series, horizon, area and model, beside the baselines of the same run. #}
with metrics as (

    select * from {{ source('ml', 'ml_forecast_metrics') }}

)

select
    series,
    horizon_days,
    area,
    model,
    n_forecasts,
    mae,
    mase,
    rel_mae_seasonal_naive,
    rel_mae_naive,
    coverage_50,
    coverage_80,
    coverage_95,
    wis,
    model not in ('naive', 'seasonal_naive') and rel_mae_seasonal_naive < 1
        and rel_mae_naive < 1 as beats_both_baselines,
    mlflow_run_id,
    computed_at,
from metrics
