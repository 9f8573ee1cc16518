-- Shares are shares, and a town is in the functional city exactly when its commuting share
-- reaches the threshold.
select town, month_start
from {{ ref('fct_functional_city_boundary') }}
where commuting_share not between 0 and 1
    or trips_into_almaty > outgoing_trips
    or commuters_per_1000_flows not between 0 and 1000
    or avg_daily_commuters < 0
    or working_days_observed > days_observed
    or in_functional_city
        <> coalesce(commuting_share >= {{ var("functional_city_min_commuting_share") }}, false)
