{# Very large: one row per bus every 10-30 s. Select it filtered on `position_date` so the
   Delta partitions prune. #}
with source as (

    select * from {{ source('transit', 'bus_positions') }}

),

renamed as (

    select
        vehicle_id,
        route_id,
        trip_id,
        trip_key,
        cast(direction_id as integer) as direction_id,
        position_ts,
        cast(position_date as date) as position_date,
        lat,
        lon,
        speed_kmh,
        bearing_deg,
        on_route,
        nearest_stop_id,
        stop_distance_m,
        along_m,
        cast(feed_version as date) as feed_version,
    from source

)

select * from renamed
