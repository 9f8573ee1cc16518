{# Presence and indices per district, weekday and local hour, median over the baseline window. #}
with hourly as (

    select * from {{ ref('stg_telecom__district_hourly') }}

),

windows as (

    select * from {{ ref('int_baseline__windows') }}
    where signal = 'telecom_presence'

),

final as (

    select
        hourly.district_code,
        isodow(hourly.activity_date) as iso_weekday,
        hourly.hour_local,
        median(hourly.total_subscribers) as baseline_presence,
        median(hourly.activity_index) as baseline_activity_index,
        median(hourly.mobility_index) as baseline_mobility_index,
        count(*) as baseline_days,
        any_value(windows.baseline_kind) as baseline_kind,
    from hourly
    inner join windows
        on hourly.activity_date between windows.baseline_start and windows.baseline_end
    group by all

)

select * from final
