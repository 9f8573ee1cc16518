{{ config(severity='warn') }}
-- More buses in service than the fleet size says the fleet size is stale (a var or a GTFS
-- feed that misses buses): a warning, not an error.
select *
from {{ ref('fct_fleet_utilisation_daily') }}
where service_date between cast('{{ window_start() }}' as date) and cast('{{ window_end() }}' as date)
  and buses_in_service > fleet_size
