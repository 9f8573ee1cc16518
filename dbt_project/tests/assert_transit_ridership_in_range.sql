-- Hourly ridership facts stay in range: local hours 0-23, shares 0-1, the boardings' parts
-- add up (legs, fare types, GPS match) and no count is negative.
select *
from {{ ref('fct_route_ridership_hourly') }}
where service_date between cast('{{ window_start() }}' as date) and cast('{{ window_end() }}' as date)
  and (
    hour_local not between 0 and 23
    or boardings <= 0
    or boarding_stop_share not between 0 and 1
    or journeys_started + transfer_boardings != boardings
    or adult_boardings + student_boardings + pensioner_boardings + child_boardings + social_boardings != boardings
    or gps_matched_boardings + gps_route_mismatch_boardings + no_gps_boardings != boardings
    or paid_boardings > boardings
    or fare_revenue_kzt < 0
  )
