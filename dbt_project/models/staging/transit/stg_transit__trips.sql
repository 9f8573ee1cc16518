with source as (

    select * from {{ source('transit', 'gtfs_trips') }}

),

renamed as (

    select
        cast(feed_version as date) as feed_version,
        trip_id,
        route_id,
        service_id,
        cast(direction_id as integer) as direction_id,
        block_id,
        shape_id,
    from source

)

select * from renamed
