-- The 30-day stop load holds every stop and hour of the window with the hourly fact's sums,
-- ranked 1..n without gaps, busiest first.
with bounds as (

    select max(service_date) as window_end from {{ ref('fct_stop_boardings_hourly') }}

),

hourly as (

    select stop_id, hour_local, sum(boardings) as boardings
    from {{ ref('fct_stop_boardings_hourly') }}, bounds
    where service_date between bounds.window_end - interval 29 day and bounds.window_end
    group by all

),

ranked as (

    select
        *,
        lag(boardings) over (order by load_rank) as boardings_above,
        count(*) over () as n,
    from {{ ref('fct_stop_load_30d') }}

),

mismatched_totals as (

    select coalesce(hourly.stop_id, ranked.stop_id) as stop_id, 'total' as problem
    from hourly
    full outer join ranked using (stop_id, hour_local)
    where hourly.boardings is distinct from ranked.boardings

),

bad_ranks as (

    select stop_id, 'rank' as problem
    from ranked
    where load_rank not between 1 and n
       or boardings > boardings_above
       or window_end is distinct from (select window_end from bounds)

)

select * from mismatched_totals
union all
select * from bad_ranks
