-- District flows add up: no negative trips, net = in - out, the agglomeration a part of each,
-- and the city's inflows equal the district-bound trips of the commuting mart that day.
with daily as (

    select * from {{ ref('fct_district_activity_daily') }}

),

bad_rows as (

    select activity_date, district_code, 'row' as problem
    from daily
    where inflow < 0
        or outflow < 0
        or net_flow <> inflow - outflow
        or inflow_from_agglomeration not between 0 and inflow
        or outflow_to_agglomeration not between 0 and outflow
        or morning_peak_inflow not between 0 and inflow

),

city_inflow as (

    select activity_date, sum(inflow) as inflow
    from daily
    group by activity_date

),

flows_inflow as (

    select activity_date, sum(trips) as inflow
    from {{ ref('fct_commuting_flows_daily') }}
    where destination_zone_type = 'district'
    group by activity_date

),

mismatched_days as (

    select activity_date, null as district_code, 'city inflow' as problem
    from city_inflow
    inner join flows_inflow using (activity_date)
    where city_inflow.inflow <> flows_inflow.inflow

)

select * from bad_rows
union all
select * from mismatched_days
