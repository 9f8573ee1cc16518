-- Each month ranks its categories 1..n without gaps, flags at most most_affected_top_n of
-- them, and only categories whose turnover fell.
with segments as (

    select * from {{ ref('fct_most_affected_segments') }}

),

months as (

    select
        month_start,
        count(*) as categories,
        max(drop_rank) as max_rank,
        count(distinct drop_rank) as ranks,
        count(*) filter (where is_most_affected) as flagged,
    from segments
    group by month_start

)

select month_start, 'ranks or flags' as problem
from months
where max_rank <> categories
    or ranks <> categories
    or flagged > {{ var("most_affected_top_n") }}

union all

select month_start, 'flag' as problem
from segments
where is_most_affected
    and (turnover_vs_baseline_pct >= 0 or drop_rank > {{ var("most_affected_top_n") }})
