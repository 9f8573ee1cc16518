{# The best lag of each signal against morbidity, and what it means for the city. #}

with best as (

    select * from {{ ref('fct_signal_lead_lag') }}
    where is_best_lag

)

select
    area,
    signal,
    lag_days as best_lag_days,
    correlation,
    days_compared,
    case
        when correlation is null or abs(correlation) < 0.3 then 'no clear relation'
        when lag_days < 0 then 'leads morbidity by ' || -lag_days || ' days'
        when lag_days > 0 then 'trails morbidity by ' || lag_days || ' days'
        else 'moves with morbidity'
    end as reading,
    case when correlation < 0 then 'against' else 'with' end as direction,
from best
