{# Trips into and out of each district per day, from the origin-destination flows. #}
with od as (

    select * from {{ ref('int_telecom__od_daily') }}

),

inflows as (

    select
        activity_date,
        destination_district_code as district_code,
        sum(trips) as inflow,
        coalesce(sum(trips) filter (where origin_zone_type = 'agglomeration_town'), 0)
            as inflow_from_agglomeration,
        sum(morning_peak_trips) as morning_peak_inflow,
    from od
    where destination_zone_type = 'district'
    group by all

),

outflows as (

    select
        activity_date,
        origin_district_code as district_code,
        sum(trips) as outflow,
        coalesce(sum(trips) filter (where destination_zone_type = 'agglomeration_town'), 0)
            as outflow_to_agglomeration,
    from od
    where origin_zone_type = 'district'
    group by all

),

final as (

    select
        activity_date,
        district_code,
        coalesce(inflows.inflow, 0) as inflow,
        coalesce(outflows.outflow, 0) as outflow,
        coalesce(inflows.inflow, 0) - coalesce(outflows.outflow, 0) as net_flow,
        coalesce(inflows.inflow_from_agglomeration, 0) as inflow_from_agglomeration,
        coalesce(outflows.outflow_to_agglomeration, 0) as outflow_to_agglomeration,
        coalesce(inflows.morning_peak_inflow, 0) as morning_peak_inflow,
    from inflows
    full outer join outflows using (activity_date, district_code)

)

select * from final
