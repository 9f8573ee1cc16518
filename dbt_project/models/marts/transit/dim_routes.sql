{#
    Every route of every loaded GTFS feed version, described by the latest version that has it
    (the feed in force, when that is the latest loaded). Routes dropped from the current feed
    stay, flagged, so the facts of earlier days keep their route.
#}
with routes as (

    select * from {{ ref('stg_transit__routes') }}

),

patterns as (

    select * from {{ ref('stg_transit__route_patterns') }}

),

schedule as (

    select * from {{ ref('dim_route_schedule') }}

),

current_feed as (

    select max(feed_version) as feed_version from routes

),

latest_version as (

    select
        route_id,
        min(feed_version) as first_feed_version,
        max(feed_version) as feed_version,
    from routes
    group by all

),

pattern_lengths as (

    select
        feed_version,
        route_id,
        count(distinct direction_id) as directions,
        count(*) as pattern_stops,
        max(dist_m) filter (where direction_id = 0) as length_direction_0_m,
        max(dist_m) filter (where direction_id = 1) as length_direction_1_m,
    from patterns
    group by all

),

final as (

    select
        routes.route_id,
        routes.route_short_name,
        routes.route_long_name,
        routes.route_type,
        routes.agency_id,
        routes.feed_version,
        latest_version.first_feed_version,
        routes.feed_version = current_feed.feed_version as is_in_current_feed,
        coalesce(pattern_lengths.directions, 0) as directions,
        coalesce(pattern_lengths.pattern_stops, 0) as pattern_stops,
        round(pattern_lengths.length_direction_0_m / 1000, 2) as length_direction_0_km,
        round(pattern_lengths.length_direction_1_m / 1000, 2) as length_direction_1_km,
        coalesce(schedule.scheduled_trips_per_day, 0) as scheduled_trips_per_day,
        coalesce(schedule.scheduled_vehicles, 0) as scheduled_vehicles,
        round(schedule.scheduled_headway_s / 60, 2) as scheduled_headway_min,
        schedule.service_start_s,
        schedule.service_end_s,
    from routes
    inner join latest_version using (route_id, feed_version)
    cross join current_feed
    left join pattern_lengths using (feed_version, route_id)
    left join schedule using (feed_version, route_id)

)

select * from final
