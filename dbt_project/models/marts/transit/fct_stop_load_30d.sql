{{
    config(
        materialized='table',
        tags=['rolling_window'],
    )
}}

{#
    The busiest stops and hours of the last 30 days: boardings per stop and local hour summed
    over the 30 days that end on the newest service day of fct_stop_boardings_hourly, ranked.
    Rebuilt whole on every run (the window moves with each new day). The rows are stored in
    rank order, so a chart's "top N" (`where load_rank <= N`) reads one row group instead of
    grouping a month of stop-hour rows on every call.

    The hourly fact is named twice, not put in a CTE: a CTE read twice is materialised whole
    (a year of stop-hours), while a scalar bound on the table is pushed into its scan. No
    distinct counts per group: on a full-scale year they cost more than the grouping itself.
#}
with stops as (

    select * from {{ ref('dim_stops') }}

),

window_bounds as (

    select
        max(service_date) - interval 29 day as window_start,
        max(service_date) as window_end,
    from {{ ref('fct_stop_boardings_hourly') }}

),

in_window as (

    select service_date, hour_local, stop_id, route_id, boardings, transfer_boardings, boardings_expanded
    from {{ ref('fct_stop_boardings_hourly') }}
    where service_date >= (select cast(window_start as date) from window_bounds)

),

service_days as (

    select count(distinct service_date) as service_days from in_window

),

stop_hour_totals as (

    select
        stop_id,
        hour_local,
        cast(sum(boardings) as bigint) as boardings,
        cast(sum(transfer_boardings) as bigint) as transfer_boardings,
        round(sum(boardings_expanded), 2) as boardings_expanded,
    from in_window
    group by all

),

final as (

    select
        row_number() over (
            order by stop_hour_totals.boardings desc, stop_hour_totals.stop_id, stop_hour_totals.hour_local
        ) as load_rank,
        cast(window_bounds.window_start as date) as window_start,
        window_bounds.window_end,
        service_days.service_days,
        stop_hour_totals.stop_id,
        stops.stop_name,
        stop_hour_totals.hour_local,
        stop_hour_totals.boardings,
        round(stop_hour_totals.boardings / service_days.service_days, 1) as boardings_per_day,
        stop_hour_totals.transfer_boardings,
        stop_hour_totals.boardings_expanded,
    from stop_hour_totals
    cross join window_bounds
    cross join service_days
    left join stops using (stop_id)

)

select * from final
order by load_rank
