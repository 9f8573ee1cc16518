-- The recovery index is 100 plus the change from baseline, the trough is never above the
-- index, and the monthly turnover adds up to the daily mart's.
with monthly as (

    select * from {{ ref('fct_business_recovery_monthly') }}

),

daily_totals as (

    select
        cast(date_trunc('month', business_date) as date) as month_start,
        district_code,
        category,
        sum(turnover_kzt) as turnover_kzt,
    from {{ ref('fct_business_daily') }}
    group by all

)

select monthly.month_start, monthly.district_code, monthly.category
from monthly
left join daily_totals using (month_start, district_code, category)
where abs(monthly.recovery_index - 100 - monthly.turnover_vs_baseline_pct) > 0.15
    or monthly.trough_recovery_index > monthly.recovery_index + 0.05
    or monthly.recovery_index < 0
    or monthly.days_with_baseline > monthly.days_observed
    or daily_totals.turnover_kzt is null
    or abs(monthly.turnover_kzt - daily_totals.turnover_kzt) > 1
