with source as (

    select * from {{ source('transit', 'gtfs_route_patterns') }}

),

renamed as (

    select
        cast(feed_version as date) as feed_version,
        route_id,
        cast(direction_id as integer) as direction_id,
        cast(stop_sequence as integer) as stop_sequence,
        stop_id,
        stop_lat,
        stop_lon,
        dist_m,
        bearing_deg,
    from source

)

select * from renamed
