{#
    Cross-correlation of each signal with morbidity (new registered cases) at lags
    -max_lag..+max_lag days, for the city and for each district, over the whole history.

    lag_days = L compares the signal on day t with morbidity on day t - L: a signal that
    trails morbidity (deaths) peaks at a positive lag, one that leads it (pharmacy) at a
    negative lag. Series are 7-day centred means, so weekly rhythms do not dominate.
#}
{% set max_lag = var('lead_lag_max_days', 21) %}

with signals as (

    select * from {{ ref('fct_epidemic_signals_daily') }}

),

per_area as (

    select signal_date, district_code as area, new_cases, deaths, ambulance_calls,
        respiratory_calls, pharmacy_receipts, daytime_mobility_index, daytime_activity_index,
    from signals

    union all

    select
        signal_date,
        'CITY' as area,
        sum(new_cases),
        sum(deaths),
        sum(ambulance_calls),
        sum(respiratory_calls),
        sum(pharmacy_receipts),
        -- the city's indices weight districts by their residents
        sum(daytime_mobility_index * population_2020) / sum(population_2020),
        sum(daytime_activity_index * population_2020) / sum(population_2020),
    from signals
    inner join {{ ref('districts') }} using (district_code)
    group by signal_date

),

long as (

    unpivot per_area
    on deaths, ambulance_calls, respiratory_calls, pharmacy_receipts,
        daytime_mobility_index, daytime_activity_index
    into name signal value value

),

smoothed_signal as (

    select
        area,
        signal,
        signal_date,
        avg(value) over (
            partition by area, signal order by signal_date
            range between interval 3 days preceding and interval 3 days following
        ) as value,
    from long

),

smoothed_morbidity as (

    select
        area,
        signal_date,
        avg(new_cases) over (
            partition by area order by signal_date
            range between interval 3 days preceding and interval 3 days following
        ) as cases,
    from per_area
    where new_cases is not null

),

lags as (

    select unnest(generate_series(-{{ max_lag }}, {{ max_lag }})) as lag_days

),

paired as (

    select
        s.area,
        s.signal,
        lags.lag_days,
        corr(s.value, m.cases) as correlation,
        count(*) as days_compared,
    from smoothed_signal as s
    cross join lags
    inner join smoothed_morbidity as m
        on m.area = s.area and m.signal_date = s.signal_date - to_days(cast(lags.lag_days as integer))
    where s.value is not null
    group by all
    having count(*) >= 28

),

ranked as (

    select
        *,
        row_number() over (
            partition by area, signal order by abs(correlation) desc nulls last, abs(lag_days)
        ) = 1 as is_best_lag,
    from paired

)

select
    area,
    signal,
    lag_days,
    round(correlation, 4) as correlation,
    days_compared,
    is_best_lag,
from ranked
