{# The forecast job's rows as BI reads them: the backtest (with the actual cases) and the
   forecast from the last day (actual still unknown), with each forecast's error. #}
with forecasts as (

    select * from {{ source('ml', 'ml_morbidity_forecast') }}

)

select
    series,
    area,
    kind,
    model,
    horizon_days,
    origin_date,
    target_date,
    prediction,
    q100 as lower_80,
    q900 as upper_80,
    q025 as lower_95,
    q975 as upper_95,
    actual,
    abs(prediction - actual) as abs_error,
    case when q100 is not null and actual is not null
        then actual between q100 and q900 end as inside_80,
    mlflow_run_id,
    computed_at,
from forecasts
