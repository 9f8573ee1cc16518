-- Peaks are parts of the day's trips, a flow never stays in its zone, and the commuting flag
-- matches the zone types.
select activity_date, origin_zone, destination_zone
from {{ ref('fct_commuting_flows_daily') }}
where trips <= 0
    or morning_peak_trips < 0
    or evening_peak_trips < 0
    or morning_peak_trips + evening_peak_trips > trips
    or morning_peak_share not between 0 and 1
    or hours_reported not between 1 and 24
    or origin_zone = destination_zone
    or is_agglomeration_commuting <> (origin_zone_type <> destination_zone_type)
    or (origin_zone_type = 'district') <> (origin_district_code is not null)
    or (destination_zone_type = 'district') <> (destination_district_code is not null)
