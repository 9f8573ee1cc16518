with source as (

    select * from {{ source('transit', 'gtfs_routes') }}

),

renamed as (

    select
        cast(feed_version as date) as feed_version,
        route_id,
        agency_id,
        route_short_name,
        route_long_name,
        cast(route_type as integer) as route_type,
        timezone as feed_timezone,
    from source

)

select * from renamed
