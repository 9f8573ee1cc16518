-- Every tap placed at a stop is in the stop fact: per route and hour, the stops' boardings add
-- up to the ridership fact's boardings less those GPS could not place; shares stay in 0-1.
with stops as (

    select
        service_date,
        hour_local,
        route_id,
        sum(boardings) as stop_boardings,
        min(route_hour_gps_match_share) as min_share,
        max(route_hour_gps_match_share) as max_share,
        min(hour_local) as min_hour,
    from {{ ref('fct_stop_boardings_hourly') }}
    where service_date between cast('{{ window_start() }}' as date) and cast('{{ window_end() }}' as date)
    group by all

),

routes as (

    select service_date, hour_local, route_id, boardings - no_gps_boardings as placed_boardings
    from {{ ref('fct_route_ridership_hourly') }}
    where service_date between cast('{{ window_start() }}' as date) and cast('{{ window_end() }}' as date)
      and boardings > no_gps_boardings

)

select *
from stops
full outer join routes using (service_date, hour_local, route_id)
where stops.stop_boardings is distinct from routes.placed_boardings
   or stops.min_share not between 0 and 1
   or stops.max_share not between 0 and 1
   or stops.min_hour not between 0 and 23
