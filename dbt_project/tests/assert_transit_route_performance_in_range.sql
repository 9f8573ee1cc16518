-- Route performance stays consistent: punctuality parts add up, shares and the headway CV are
-- in range, the p90 delay is not below the median, completed trips are among observed ones.
select *
from {{ ref('fct_route_performance_daily') }}
where service_date between cast('{{ window_start() }}' as date) and cast('{{ window_end() }}' as date)
  and (
    on_time_arrivals + early_arrivals + late_arrivals != arrivals_with_schedule
    or arrivals_with_schedule > stop_arrivals
    or on_time_share not between 0 and 1
    or headway_cv < 0
    or p90_delay_min < median_delay_min
    or trips_completed > trips_observed
    or trips_scheduled < 0
    or average_wait_min < 0
    or mean_speed_kmh not between 0 and 120
  )
