{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='call_date',
    )
}}

with calls as (

    select * from {{ ref('stg_ambulance__calls') }}
    {% if is_incremental() %}
    where call_date between cast('{{ window_start() }}' as date) and cast('{{ window_end() }}' as date)
    {% endif %}

),

districts as (

    select * from {{ ref('districts') }}

),

calls_per_day as (

    select
        call_date,
        district_code,
        reason,
        count(*) as calls,
        count(*) filter (where priority = 1) as priority_1_calls,
        median(response_min) as median_response_min,
        quantile_cont(response_min, 0.9) as p90_response_min,
    from calls
    group by all

),

final as (

    select
        calls_per_day.call_date,
        calls_per_day.district_code,
        districts.district,
        calls_per_day.reason,
        calls_per_day.calls,
        calls_per_day.priority_1_calls,
        round(calls_per_day.median_response_min, 1) as median_response_min,
        round(calls_per_day.p90_response_min, 1) as p90_response_min,
        round(1e5 * calls_per_day.calls / districts.population_2020, 2) as calls_per_100k,
    from calls_per_day
    inner join districts using (district_code)

)

select * from final
