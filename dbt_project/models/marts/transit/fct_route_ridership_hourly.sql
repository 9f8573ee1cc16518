{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='service_date',
    )
}}

with boardings as (

    select * from {{ ref('stg_transit__card_boardings') }}
    {% if is_incremental() %}
    where tap_date between cast('{{ window_start() }}' as date) and cast('{{ window_end() }}' as date)
    {% endif %}

),

per_route_hour as (

    select
        tap_date as service_date,
        tap_hour_local as hour_local,
        route_id,
        count(*) as boardings,
        count(*) filter (where leg = 1) as journeys_started,
        count(*) filter (where leg > 1) as transfer_boardings,
        count(*) filter (where amount_kzt > 0) as paid_boardings,
        sum(amount_kzt) as fare_revenue_kzt,
        count(*) filter (where fare_type = 'adult') as adult_boardings,
        count(*) filter (where fare_type = 'student') as student_boardings,
        count(*) filter (where fare_type = 'pensioner') as pensioner_boardings,
        count(*) filter (where fare_type = 'child') as child_boardings,
        count(*) filter (where fare_type = 'social') as social_boardings,
        count(*) filter (where gps_match = 'matched') as gps_matched_boardings,
        count(*) filter (where gps_match = 'route_mismatch') as gps_route_mismatch_boardings,
        count(*) filter (where gps_match = 'no_gps') as no_gps_boardings,
        count(distinct vehicle_id) as vehicles_with_taps,
    from boardings
    group by all

),

final as (

    select
        service_date,
        hour_local,
        route_id,
        boardings,
        journeys_started,
        transfer_boardings,
        paid_boardings,
        round(fare_revenue_kzt, 2) as fare_revenue_kzt,
        adult_boardings,
        student_boardings,
        pensioner_boardings,
        child_boardings,
        social_boardings,
        gps_matched_boardings,
        gps_route_mismatch_boardings,
        no_gps_boardings,
        round((boardings - no_gps_boardings) / boardings, 4) as boarding_stop_share,
        vehicles_with_taps,
        round(boardings / vehicles_with_taps, 2) as boardings_per_vehicle,
    from per_route_hour

)

select * from final
