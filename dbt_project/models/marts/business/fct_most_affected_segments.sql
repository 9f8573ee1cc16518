{#
    Which outlet categories lost the most trade each month: the city's turnover per category
    against its baseline for the same days, ranked by the drop.
#}
with daily as (

    select * from {{ ref('fct_business_daily') }}
    where baseline_turnover_kzt is not null

),

monthly as (

    select
        cast(date_trunc('month', business_date) as date) as month_start,
        category,
        count(distinct district_code) as districts_observed,
        count(distinct business_date) as days_observed,
        sum(turnover_kzt) as turnover_kzt,
        sum(baseline_turnover_kzt) as baseline_turnover_kzt,
        any_value(baseline_kind) as baseline_kind,
    from daily
    group by all

),

changes as (

    select
        *,
        round(100 * (turnover_kzt / nullif(baseline_turnover_kzt, 0) - 1), 1)
            as turnover_vs_baseline_pct,
    from monthly

),

ranked as (

    select
        *,
        row_number() over (
            partition by month_start
            order by turnover_vs_baseline_pct asc nulls last, category
        ) as drop_rank,
    from changes

),

final as (

    select
        month_start,
        category,
        districts_observed,
        days_observed,
        round(turnover_kzt, 2) as turnover_kzt,
        round(baseline_turnover_kzt, 2) as baseline_turnover_kzt,
        turnover_vs_baseline_pct,
        0 - turnover_vs_baseline_pct as turnover_drop_pct,
        drop_rank,
        coalesce(
            drop_rank <= {{ var("most_affected_top_n") }} and turnover_vs_baseline_pct < 0,
            false
        ) as is_most_affected,
        baseline_kind,
    from ranked

)

select * from final
