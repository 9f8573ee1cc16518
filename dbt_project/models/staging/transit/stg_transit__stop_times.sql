with source as (

    select * from {{ source('transit', 'gtfs_stop_times') }}

),

renamed as (

    select
        cast(feed_version as date) as feed_version,
        trip_id,
        cast(stop_sequence as integer) as stop_sequence,
        stop_id,
        arrival_s as scheduled_arrival_s,
        departure_s as scheduled_departure_s,
    from source

)

select * from renamed
