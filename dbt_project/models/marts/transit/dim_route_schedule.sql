{#
    The timetable of each route in each loaded GTFS feed version. The silver layer does not
    keep calendar.txt, so every trip of a version is taken to run every day it is in force.
#}
with trips as (

    select * from {{ ref('stg_transit__trips') }}

),

stop_times as (

    select * from {{ ref('stg_transit__stop_times') }}

),

trip_times as (

    select
        trips.feed_version,
        trips.route_id,
        trips.direction_id,
        trips.trip_id,
        trips.block_id,
        min(stop_times.scheduled_arrival_s) as first_arrival_s,
        max(stop_times.scheduled_arrival_s) as last_arrival_s,
    from trips
    inner join stop_times using (feed_version, trip_id)
    group by all

),

timetable as (

    select
        feed_version,
        route_id,
        count(*) as scheduled_trips_per_day,
        count(*) filter (where direction_id = 0) as scheduled_trips_direction_0,
        count(*) filter (where direction_id = 1) as scheduled_trips_direction_1,
        count(distinct block_id) as scheduled_vehicles,
        sum(last_arrival_s - first_arrival_s) / 3600 as scheduled_vehicle_hours,
        min(first_arrival_s) as service_start_s,
        max(last_arrival_s) as service_end_s,
    from trip_times
    group by all

),

-- Scheduled headways: the gaps between consecutive scheduled arrivals at each stop.
scheduled_gaps as (

    select
        stop_times.feed_version,
        trips.route_id,
        stop_times.scheduled_arrival_s - lag(stop_times.scheduled_arrival_s) over (
            partition by stop_times.feed_version, trips.route_id, trips.direction_id, stop_times.stop_id
            order by stop_times.scheduled_arrival_s
        ) as headway_s,
    from stop_times
    inner join trips using (feed_version, trip_id)

),

scheduled_headways as (

    select
        feed_version,
        route_id,
        avg(headway_s) as scheduled_headway_s,
    from scheduled_gaps
    where headway_s > 0
    group by all

),

final as (

    select
        timetable.feed_version,
        timetable.route_id,
        timetable.scheduled_trips_per_day,
        timetable.scheduled_trips_direction_0,
        timetable.scheduled_trips_direction_1,
        timetable.scheduled_vehicles,
        round(timetable.scheduled_vehicle_hours, 2) as scheduled_vehicle_hours,
        round(scheduled_headways.scheduled_headway_s, 1) as scheduled_headway_s,
        timetable.service_start_s,
        timetable.service_end_s,
    from timetable
    left join scheduled_headways using (feed_version, route_id)

)

select * from final
