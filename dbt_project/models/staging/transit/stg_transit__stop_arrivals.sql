with source as (

    select * from {{ source('transit', 'bus_stop_arrivals') }}

),

renamed as (

    select
        trip_key,
        vehicle_id,
        route_id,
        cast(direction_id as integer) as direction_id,
        trip_id,
        cast(feed_version as date) as feed_version,
        stop_id,
        cast(stop_sequence as integer) as stop_sequence,
        arrival_ts,
        cast(arrival_date as date) as arrival_date,
        hour(timezone('Asia/Almaty', arrival_ts)) as arrival_hour_local,
        scheduled_arrival_ts,
        delay_s,
        headway_s,
    from source

)

select * from renamed
