with source as (

    select * from {{ source('transit', 'gtfs_stops') }}

),

renamed as (

    select
        cast(feed_version as date) as feed_version,
        stop_id,
        stop_name,
        stop_lat,
        stop_lon,
    from source

)

select * from renamed
