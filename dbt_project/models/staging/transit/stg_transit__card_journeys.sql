{# No card pseudonym: the journey is keyed by a hash of its id. #}
with source as (

    select * from {{ source('transit', 'card_journeys') }}

),

renamed as (

    select
        md5(journey_id) as journey_key,
        cast(tap_date as date) as tap_date,
        first_tap_ts,
        last_tap_ts,
        cast(legs as integer) as legs,
        routes as route_sequence,
        origin_stop_id,
        last_boarding_stop_id,
        fare_kzt,
    from source

)

select * from renamed
