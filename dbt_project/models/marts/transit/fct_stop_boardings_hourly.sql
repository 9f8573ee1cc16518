{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='service_date',
    )
}}

{#
    The boarding load of each stop: card taps placed at the stop the bus last reached by GPS
    (at most 10 minutes before the tap). Taps without a GPS arrival have no stop; the share of
    the route and hour's taps that found one is carried on every row, and the expanded count
    scales the stop's boardings by it (assuming the unplaced taps board like the placed ones).
#}
with boardings as (

    select * from {{ ref('stg_transit__card_boardings') }}
    {% if is_incremental() %}
    where tap_date between cast('{{ window_start() }}' as date) and cast('{{ window_end() }}' as date)
    {% endif %}

),

route_hours as (

    select
        tap_date as service_date,
        tap_hour_local as hour_local,
        route_id,
        count(*) as route_hour_taps,
        count(boarding_stop_id) as route_hour_taps_with_stop,
    from boardings
    group by all

),

stop_hours as (

    select
        tap_date as service_date,
        tap_hour_local as hour_local,
        boarding_stop_id as stop_id,
        route_id,
        count(*) as boardings,
        count(*) filter (where gps_match = 'route_mismatch') as route_mismatch_boardings,
        count(*) filter (where leg > 1) as transfer_boardings,
        median(seconds_after_arrival) as median_seconds_after_arrival,
    from boardings
    where boarding_stop_id is not null
    group by all

),

final as (

    select
        stop_hours.service_date,
        stop_hours.hour_local,
        stop_hours.stop_id,
        stop_hours.route_id,
        stop_hours.boardings,
        stop_hours.transfer_boardings,
        stop_hours.route_mismatch_boardings,
        stop_hours.median_seconds_after_arrival,
        route_hours.route_hour_taps,
        round(route_hours.route_hour_taps_with_stop / route_hours.route_hour_taps, 4)
            as route_hour_gps_match_share,
        round(
            stop_hours.boardings * route_hours.route_hour_taps / route_hours.route_hour_taps_with_stop, 2
        ) as boardings_expanded,
    from stop_hours
    inner join route_hours using (service_date, hour_local, route_id)

)

select * from final
