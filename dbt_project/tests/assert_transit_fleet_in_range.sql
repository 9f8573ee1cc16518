-- Fleet use stays plausible: buses in service are among the buses reporting GPS, the fleet is
-- positive, the time in service covers the time on trips and fits in a day per bus.
select *
from {{ ref('fct_fleet_utilisation_daily') }}
where service_date between cast('{{ window_start() }}' as date) and cast('{{ window_end() }}' as date)
  and (
    fleet_size <= 0
    or buses_in_service > buses_reporting_gps
    or fleet_in_service_share < 0
    or vehicle_hours_in_service < vehicle_hours_on_trips
    or hours_in_service_per_bus > 24
    or off_route_fix_share not between 0 and 1
    or trips_completed > trips
  )
