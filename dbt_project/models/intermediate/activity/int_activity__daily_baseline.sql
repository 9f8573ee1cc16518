{#
    Daytime indices and flows per district and weekday, median over each signal's baseline
    window (presence and flows are separate deliveries, so each has its own window).
#}
with daily as (

    select * from {{ ref('stg_telecom__district_daily') }}

),

flows as (

    select * from {{ ref('int_telecom__district_flows_daily') }}

),

windows as (

    select * from {{ ref('int_baseline__windows') }}

),

presence_baseline as (

    select
        daily.district_code,
        isodow(daily.activity_date) as iso_weekday,
        median(daily.daytime_activity_index) as baseline_daytime_activity_index,
        median(daily.daytime_mobility_index) as baseline_daytime_mobility_index,
        any_value(windows.baseline_kind) as baseline_kind,
    from daily
    inner join windows
        on windows.signal = 'telecom_presence'
        and daily.activity_date between windows.baseline_start and windows.baseline_end
    group by all

),

flow_baseline as (

    select
        flows.district_code,
        isodow(flows.activity_date) as iso_weekday,
        median(flows.inflow) as baseline_inflow,
        median(flows.outflow) as baseline_outflow,
        median(flows.inflow_from_agglomeration) as baseline_inflow_from_agglomeration,
        any_value(windows.baseline_kind) as flow_baseline_kind,
    from flows
    inner join windows
        on windows.signal = 'telecom_flows'
        and flows.activity_date between windows.baseline_start and windows.baseline_end
    group by all

),

final as (

    select
        district_code,
        iso_weekday,
        presence_baseline.baseline_daytime_activity_index,
        presence_baseline.baseline_daytime_mobility_index,
        presence_baseline.baseline_kind,
        flow_baseline.baseline_inflow,
        flow_baseline.baseline_outflow,
        flow_baseline.baseline_inflow_from_agglomeration,
        flow_baseline.flow_baseline_kind,
    from presence_baseline
    full outer join flow_baseline using (district_code, iso_weekday)

)

select * from final
