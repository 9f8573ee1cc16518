{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='service_date',
    )
}}

{#
    Service delivered against the timetable, per route and day.
    On time: an arrival whose delay against its scheduled trip is between -60 s (one minute
    early) and +300 s (five minutes late), inclusive; arrivals without a scheduled trip are
    left out of the punctuality figures.
    Headways are the gaps between consecutive buses of the route (same direction) at each stop,
    pooled over the route's stops and directions for the day:
      coefficient of variation = stddev(h) / mean(h)
      average wait (random arrivals) = mean(h^2) / (2 mean(h))
      excess wait = average wait - scheduled mean headway / 2
#}
with trips as (

    select * from {{ ref('stg_transit__bus_trips') }}
    {% if is_incremental() %}
    where trip_date between cast('{{ window_start() }}' as date) and cast('{{ window_end() }}' as date)
    {% endif %}

),

arrivals as (

    select * from {{ ref('stg_transit__stop_arrivals') }}
    {% if is_incremental() %}
    where arrival_date between cast('{{ window_start() }}' as date) and cast('{{ window_end() }}' as date)
    {% endif %}

),

routes as (

    select feed_version, route_id from {{ ref('stg_transit__routes') }}

),

schedule as (

    select * from {{ ref('dim_route_schedule') }}

),

feed_versions as (

    select distinct feed_version from routes

),

service_days as (

    select distinct trip_date as service_date from trips
    union
    select distinct arrival_date as service_date from arrivals

),

-- The feed in force on a day: the latest published on or before it.
days_in_force as (

    select
        service_days.service_date,
        feed_versions.feed_version,
    from service_days
    asof join feed_versions on service_days.service_date >= feed_versions.feed_version

),

route_days as (

    select
        days_in_force.service_date,
        days_in_force.feed_version,
        routes.route_id,
    from days_in_force
    inner join routes using (feed_version)

),

observed_trips as (

    select
        trip_date as service_date,
        route_id,
        count(*) as trips_observed,
        count(*) filter (where is_complete) as trips_completed,
        count(distinct trip_id) as scheduled_trips_identified,
        count(distinct vehicle_id) as vehicles_observed,
        sum(distance_m) / 1000 as vehicle_km,
        sum(distance_m) / nullif(sum(duration_s), 0) * 3.6 as mean_speed_kmh,
    from trips
    group by all

),

arrival_stats as (

    select
        arrival_date as service_date,
        route_id,
        count(*) as stop_arrivals,
        count(delay_s) as arrivals_with_schedule,
        count(*) filter (where delay_s between -60 and 300) as on_time_arrivals,
        count(*) filter (where delay_s < -60) as early_arrivals,
        count(*) filter (where delay_s > 300) as late_arrivals,
        median(delay_s) as median_delay_s,
        quantile_cont(delay_s, 0.9) as p90_delay_s,
        count(headway_s) filter (where headway_s >= 0) as headways_observed,
        avg(headway_s) filter (where headway_s >= 0) as mean_headway_s,
        stddev_pop(headway_s) filter (where headway_s >= 0) as stddev_headway_s,
        avg(headway_s * headway_s) filter (where headway_s >= 0) as mean_squared_headway_s2,
    from arrivals
    group by all

),

final as (

    select
        route_days.service_date,
        route_days.route_id,
        route_days.feed_version,
        coalesce(schedule.scheduled_trips_per_day, 0) as trips_scheduled,
        coalesce(observed_trips.trips_observed, 0) as trips_observed,
        coalesce(observed_trips.trips_completed, 0) as trips_completed,
        coalesce(observed_trips.scheduled_trips_identified, 0) as scheduled_trips_identified,
        round(observed_trips.trips_completed / nullif(schedule.scheduled_trips_per_day, 0), 4)
            as trips_delivered_share,
        coalesce(observed_trips.vehicles_observed, 0) as vehicles_observed,
        schedule.scheduled_vehicles,
        round(observed_trips.vehicle_km, 1) as vehicle_km,
        round(observed_trips.mean_speed_kmh, 1) as mean_speed_kmh,
        coalesce(arrival_stats.stop_arrivals, 0) as stop_arrivals,
        coalesce(arrival_stats.arrivals_with_schedule, 0) as arrivals_with_schedule,
        coalesce(arrival_stats.on_time_arrivals, 0) as on_time_arrivals,
        coalesce(arrival_stats.early_arrivals, 0) as early_arrivals,
        coalesce(arrival_stats.late_arrivals, 0) as late_arrivals,
        round(arrival_stats.on_time_arrivals / nullif(arrival_stats.arrivals_with_schedule, 0), 4)
            as on_time_share,
        round(arrival_stats.median_delay_s / 60, 2) as median_delay_min,
        round(arrival_stats.p90_delay_s / 60, 2) as p90_delay_min,
        coalesce(arrival_stats.headways_observed, 0) as headways_observed,
        round(arrival_stats.mean_headway_s / 60, 2) as mean_headway_min,
        round(schedule.scheduled_headway_s / 60, 2) as scheduled_headway_min,
        round(arrival_stats.stddev_headway_s / nullif(arrival_stats.mean_headway_s, 0), 4)
            as headway_cv,
        round(
            arrival_stats.mean_squared_headway_s2 / nullif(2 * arrival_stats.mean_headway_s, 0) / 60,
            2
        ) as average_wait_min,
        round(
            (
                arrival_stats.mean_squared_headway_s2 / nullif(2 * arrival_stats.mean_headway_s, 0)
                - schedule.scheduled_headway_s / 2
            ) / 60,
            2
        ) as excess_wait_min,
    from route_days
    left join schedule using (feed_version, route_id)
    left join observed_trips using (service_date, route_id)
    left join arrival_stats using (service_date, route_id)

)

select * from final
