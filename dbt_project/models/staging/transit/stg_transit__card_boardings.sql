{# The card pseudonym is not selected; the journey id (which carries a prefix of it) is
   replaced by a hash that only links the boardings of one journey. #}
with source as (

    select * from {{ source('transit', 'card_boardings') }}

),

renamed as (

    select
        tap_id,
        tap_ts,
        cast(tap_date as date) as tap_date,
        cast(tap_hour_local as integer) as tap_hour_local,
        vehicle_id,
        validator_id,
        route_id,
        fare_type,
        amount_kzt,
        cast(direction_id as integer) as direction_id,
        trip_key,
        boarding_stop_id,
        cast(boarding_stop_sequence as integer) as boarding_stop_sequence,
        stop_arrival_ts,
        seconds_after_arrival,
        gps_match,
        cast(leg as integer) as leg,
        md5(journey_id) as journey_key,
    from source

)

select * from renamed
