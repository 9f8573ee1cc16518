{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='activity_date',
    )
}}

with hourly as (

    select * from {{ ref('stg_telecom__district_hourly') }}
    {% if is_incremental() %}
    where activity_date between cast('{{ window_start() }}' as date) and cast('{{ window_end() }}' as date)
    {% endif %}

),

baseline as (

    select * from {{ ref('int_activity__hourly_baseline') }}

),

baseline_window as (

    select baseline_kind from {{ ref('int_baseline__windows') }}
    where signal = 'telecom_presence'

),

districts as (

    select * from {{ ref('dim_districts') }}

),

final as (

    select
        hourly.activity_date,
        hourly.hour_local,
        hourly.district_code,
        districts.district,
        hourly.hour_start,
        isodow(hourly.activity_date) as iso_weekday,
        hourly.total_subscribers as presence,
        hourly.home_subscribers,
        hourly.work_subscribers,
        hourly.visitor_subscribers,
        hourly.activity_index,
        hourly.mobility_index,
        baseline.baseline_presence,
        round(baseline.baseline_activity_index, 4) as baseline_activity_index,
        round(baseline.baseline_mobility_index, 4) as baseline_mobility_index,
        round(100 * (hourly.total_subscribers / nullif(baseline.baseline_presence, 0) - 1), 1)
            as presence_vs_baseline_pct,
        round(100 * (hourly.activity_index / nullif(baseline.baseline_activity_index, 0) - 1), 1)
            as activity_vs_baseline_pct,
        round(100 * (hourly.mobility_index / nullif(baseline.baseline_mobility_index, 0) - 1), 1)
            as mobility_vs_baseline_pct,
        baseline_window.baseline_kind,
        hourly.cells_kept,
        hourly.cells_suppressed,
    from hourly
    inner join districts using (district_code)
    left join baseline_window on true
    left join baseline
        on baseline.district_code = hourly.district_code
        and baseline.iso_weekday = isodow(hourly.activity_date)
        and baseline.hour_local = hourly.hour_local

)

select * from final
