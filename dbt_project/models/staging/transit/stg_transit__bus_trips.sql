with source as (

    select * from {{ source('transit', 'bus_trips') }}

),

renamed as (

    select
        trip_key,
        vehicle_id,
        route_id,
        cast(direction_id as integer) as direction_id,
        trip_id,
        cast(feed_version as date) as feed_version,
        start_ts,
        end_ts,
        cast(trip_date as date) as trip_date,
        hour(timezone('Asia/Almaty', start_ts)) as start_hour_local,
        duration_s,
        distance_m,
        mean_speed_kmh,
        pings,
        stops_served,
        pattern_stops,
        -- A run that passed at least 80% of its pattern's stops counts as a completed trip.
        coalesce(stops_served >= 0.8 * pattern_stops, false) as is_complete,
    from source

)

select * from renamed
