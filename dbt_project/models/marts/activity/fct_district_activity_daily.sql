{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='activity_date',
    )
}}

with presence as (

    select * from {{ ref('stg_telecom__district_daily') }}
    {% if is_incremental() %}
    where activity_date between cast('{{ window_start() }}' as date) and cast('{{ window_end() }}' as date)
    {% endif %}

),

flows as (

    select * from {{ ref('int_telecom__district_flows_daily') }}
    {% if is_incremental() %}
    where activity_date between cast('{{ window_start() }}' as date) and cast('{{ window_end() }}' as date)
    {% endif %}

),

baseline as (

    select * from {{ ref('int_activity__daily_baseline') }}

),

baseline_window as (

    select baseline_kind from {{ ref('int_baseline__windows') }}
    where signal = 'telecom_presence'

),

flow_baseline_window as (

    select baseline_kind as flow_baseline_kind from {{ ref('int_baseline__windows') }}
    where signal = 'telecom_flows'

),

districts as (

    select * from {{ ref('dim_districts') }}

),

calendar as (

    select * from {{ ref('dim_calendar') }}

),

district_days as (

    select
        activity_date,
        district_code,
        presence.daytime_activity_index,
        presence.daytime_mobility_index,
        flows.inflow,
        flows.outflow,
        flows.net_flow,
        flows.inflow_from_agglomeration,
        flows.outflow_to_agglomeration,
        flows.morning_peak_inflow,
    from presence
    full outer join flows using (activity_date, district_code)

),

final as (

    select
        district_days.activity_date,
        district_days.district_code,
        districts.district,
        isodow(district_days.activity_date) as iso_weekday,
        calendar.is_working_day,
        calendar.restriction_regime,
        district_days.daytime_activity_index,
        round(baseline.baseline_daytime_activity_index, 4) as baseline_daytime_activity_index,
        round(100 * (
            district_days.daytime_activity_index
            / nullif(baseline.baseline_daytime_activity_index, 0) - 1
        ), 1) as activity_vs_baseline_pct,
        district_days.daytime_mobility_index,
        round(baseline.baseline_daytime_mobility_index, 4) as baseline_daytime_mobility_index,
        round(100 * (
            district_days.daytime_mobility_index
            / nullif(baseline.baseline_daytime_mobility_index, 0) - 1
        ), 1) as mobility_vs_baseline_pct,
        baseline_window.baseline_kind,
        district_days.inflow,
        district_days.outflow,
        district_days.net_flow,
        district_days.inflow_from_agglomeration,
        district_days.outflow_to_agglomeration,
        district_days.morning_peak_inflow,
        baseline.baseline_inflow,
        round(100 * (district_days.inflow / nullif(baseline.baseline_inflow, 0) - 1), 1)
            as inflow_vs_baseline_pct,
        flow_baseline_window.flow_baseline_kind,
    from district_days
    inner join districts using (district_code)
    left join calendar on calendar.date_day = district_days.activity_date
    left join baseline_window on true
    left join flow_baseline_window on true
    left join baseline
        on baseline.district_code = district_days.district_code
        and baseline.iso_weekday = isodow(district_days.activity_date)

)

select * from final
