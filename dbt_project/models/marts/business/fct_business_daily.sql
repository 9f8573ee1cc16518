{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='business_date',
    )
}}

with receipts as (

    select * from {{ ref('stg_fiscal__district_daily') }}
    {% if is_incremental() %}
    where business_date between cast('{{ window_start() }}' as date) and cast('{{ window_end() }}' as date)
    {% endif %}

),

baseline as (

    select * from {{ ref('int_business__daily_baseline') }}

),

baseline_window as (

    select baseline_kind from {{ ref('int_baseline__windows') }}
    where signal = 'fiscal'

),

districts as (

    select * from {{ ref('dim_districts') }}

),

calendar as (

    select * from {{ ref('dim_calendar') }}

),

final as (

    select
        receipts.business_date,
        receipts.district_code,
        districts.district,
        receipts.category,
        isodow(receipts.business_date) as iso_weekday,
        calendar.is_working_day,
        calendar.restriction_regime,
        receipts.outlets,
        receipts.receipts,
        receipts.amount_kzt as turnover_kzt,
        receipts.avg_ticket_kzt,
        baseline.baseline_receipts,
        round(baseline.baseline_turnover_kzt, 2) as baseline_turnover_kzt,
        round(baseline.baseline_avg_ticket_kzt, 2) as baseline_avg_ticket_kzt,
        round(100 * (receipts.receipts / nullif(baseline.baseline_receipts, 0) - 1), 1)
            as receipts_vs_baseline_pct,
        round(100 * (receipts.amount_kzt / nullif(baseline.baseline_turnover_kzt, 0) - 1), 1)
            as turnover_vs_baseline_pct,
        round(100 * (receipts.avg_ticket_kzt / nullif(baseline.baseline_avg_ticket_kzt, 0) - 1), 1)
            as avg_ticket_vs_baseline_pct,
        baseline_window.baseline_kind,
    from receipts
    inner join districts using (district_code)
    left join calendar on calendar.date_day = receipts.business_date
    left join baseline_window on true
    left join baseline
        on baseline.district_code = receipts.district_code
        and baseline.category = receipts.category
        and baseline.iso_weekday = isodow(receipts.business_date)

)

select * from final
