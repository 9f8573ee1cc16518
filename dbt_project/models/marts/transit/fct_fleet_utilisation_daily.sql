{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='service_date',
    )
}}

{#
    The fleet's use per day. There is no fleet register in the lake, so the fleet size is, in
    order: the project var `transit_fleet_size` when set (2,232 buses at full scale); else the
    distinct vehicle blocks (`block_id`, the bus in this city's feed) of the GTFS feed in force;
    else every bus ever seen on a GPS trip. `fleet_size_source` says which.
#}
{%- set fleet_var = var('transit_fleet_size', none) %}

with trips as (

    select * from {{ ref('stg_transit__bus_trips') }}
    {% if is_incremental() %}
    where trip_date between cast('{{ window_start() }}' as date) and cast('{{ window_end() }}' as date)
    {% endif %}

),

positions as (

    -- Large: only the partitions of the window are read, and three columns of them.
    select position_date, vehicle_id, on_route
    from {{ ref('stg_transit__bus_positions') }}
    {% if is_incremental() %}
    where position_date between cast('{{ window_start() }}' as date) and cast('{{ window_end() }}' as date)
    {% endif %}

),

gtfs_trips as (

    select * from {{ ref('stg_transit__trips') }}

),

gtfs_fleet as (

    select
        feed_version,
        count(distinct block_id) as scheduled_vehicles,
    from gtfs_trips
    group by all

),

seen_fleet as (

    select count(distinct vehicle_id) as vehicles_ever_seen from {{ ref('stg_transit__bus_trips') }}

),

service_days as (

    select distinct trip_date as service_date from trips
    union
    select distinct position_date as service_date from positions

),

-- The feed in force on a day: the latest published on or before it (null before the first).
days_in_force as (

    select
        service_days.service_date,
        gtfs_fleet.feed_version,
        nullif(gtfs_fleet.scheduled_vehicles, 0) as scheduled_vehicles,
    from service_days
    asof left join gtfs_fleet on service_days.service_date >= gtfs_fleet.feed_version

),

vehicle_days as (

    select
        trip_date as service_date,
        vehicle_id,
        count(*) as trips,
        count(*) filter (where is_complete) as trips_completed,
        sum(duration_s) as seconds_on_trips,
        epoch(max(end_ts)) - epoch(min(start_ts)) as seconds_in_service,
        sum(distance_m) as distance_m,
    from trips
    group by all

),

daily_trips as (

    select
        service_date,
        count(*) as buses_in_service,
        sum(trips) as trips,
        sum(trips_completed) as trips_completed,
        sum(seconds_on_trips) / 3600 as vehicle_hours_on_trips,
        sum(seconds_in_service) / 3600 as vehicle_hours_in_service,
        sum(distance_m) / 1000 as vehicle_km,
    from vehicle_days
    group by all

),

daily_gps as (

    select
        position_date as service_date,
        count(distinct vehicle_id) as buses_reporting_gps,
        count(*) as gps_fixes,
        avg(case when on_route then 0.0 else 1.0 end) as off_route_fix_share,
    from positions
    group by all

),

final as (

    select
        days_in_force.service_date,
        days_in_force.feed_version,
        coalesce(
            {{ fleet_var if fleet_var is not none else 'null' }},
            days_in_force.scheduled_vehicles,
            seen_fleet.vehicles_ever_seen
        ) as fleet_size,
        case
            when {{ 'true' if fleet_var is not none else 'false' }} then 'var_transit_fleet_size'
            when days_in_force.scheduled_vehicles is not null then 'gtfs_blocks'
            else 'gps_vehicles_seen'
        end as fleet_size_source,
        coalesce(daily_gps.buses_reporting_gps, 0) as buses_reporting_gps,
        coalesce(daily_trips.buses_in_service, 0) as buses_in_service,
        round(coalesce(daily_trips.buses_in_service, 0) / fleet_size, 4) as fleet_in_service_share,
        coalesce(daily_trips.trips, 0) as trips,
        coalesce(daily_trips.trips_completed, 0) as trips_completed,
        round(daily_trips.trips / nullif(daily_trips.buses_in_service, 0), 2) as trips_per_bus,
        round(coalesce(daily_trips.vehicle_hours_on_trips, 0), 2) as vehicle_hours_on_trips,
        round(coalesce(daily_trips.vehicle_hours_in_service, 0), 2) as vehicle_hours_in_service,
        round(daily_trips.vehicle_hours_in_service / nullif(daily_trips.buses_in_service, 0), 2)
            as hours_in_service_per_bus,
        round(coalesce(daily_trips.vehicle_km, 0), 1) as vehicle_km,
        coalesce(daily_gps.gps_fixes, 0) as gps_fixes,
        round(daily_gps.off_route_fix_share, 4) as off_route_fix_share,
    from days_in_force
    cross join seen_fleet
    left join daily_trips using (service_date)
    left join daily_gps using (service_date)

)

select * from final
