-- Presence and indices are counts and ratios: never negative, mobility a share, hours 0-23.
select 'hourly' as mart, activity_date, district_code, hour_local
from {{ ref('fct_district_activity_hourly') }}
where presence < 0
    or activity_index < 0
    or mobility_index not between 0 and 1
    or hour_local not between 0 and 23
    or baseline_activity_index < 0
    or baseline_mobility_index not between 0 and 1

union all

select 'daily' as mart, activity_date, district_code, null as hour_local
from {{ ref('fct_district_activity_daily') }}
where daytime_activity_index < 0
    or daytime_mobility_index not between 0 and 1
    or baseline_daytime_activity_index < 0
    or baseline_daytime_mobility_index not between 0 and 1
    or activity_vs_baseline_pct < -100
    or mobility_vs_baseline_pct < -100
