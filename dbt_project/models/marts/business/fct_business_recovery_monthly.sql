{#
    Turnover per district, category and month against the baseline for the same days: each
    day observed contributes its weekday's baseline, so a month with missing days or an
    unusual mix of weekdays is still compared like for like.
#}
with daily as (

    select * from {{ ref('fct_business_daily') }}

),

monthly as (

    select
        cast(date_trunc('month', business_date) as date) as month_start,
        district_code,
        any_value(district) as district,
        category,
        count(*) as days_observed,
        count(baseline_turnover_kzt) as days_with_baseline,
        sum(receipts) as receipts,
        sum(turnover_kzt) as turnover_kzt,
        sum(turnover_kzt) filter (where baseline_turnover_kzt is not null)
            as comparable_turnover_kzt,
        sum(baseline_turnover_kzt) as baseline_turnover_kzt,
        any_value(baseline_kind) as baseline_kind,
    from daily
    group by all

),

indexed as (

    select
        *,
        100 * comparable_turnover_kzt / nullif(baseline_turnover_kzt, 0) as recovery_index_raw,
    from monthly

),

with_trough as (

    select
        *,
        min(recovery_index_raw) over (
            partition by district_code, category
            order by month_start
            rows between unbounded preceding and current row
        ) as trough_index_raw,
    from indexed

),

final as (

    select
        month_start,
        district_code,
        district,
        category,
        days_observed,
        days_with_baseline,
        receipts,
        round(turnover_kzt, 2) as turnover_kzt,
        round(turnover_kzt / nullif(receipts, 0), 2) as avg_ticket_kzt,
        round(baseline_turnover_kzt, 2) as baseline_turnover_kzt,
        round(recovery_index_raw - 100, 1) as turnover_vs_baseline_pct,
        round(recovery_index_raw, 1) as recovery_index,
        round(trough_index_raw, 1) as trough_recovery_index,
        case
            when round(trough_index_raw, 1) < 100
                then round(
                    100 * (recovery_index_raw - trough_index_raw) / (100 - trough_index_raw), 1
                )
        end as loss_recovered_pct,
        baseline_kind,
    from with_trough

)

select * from final
