{# Receipts, turnover and ticket per district, category and weekday, median over the baseline. #}
with receipts as (

    select * from {{ ref('stg_fiscal__district_daily') }}

),

windows as (

    select * from {{ ref('int_baseline__windows') }}
    where signal = 'fiscal'

),

final as (

    select
        receipts.district_code,
        receipts.category,
        isodow(receipts.business_date) as iso_weekday,
        median(receipts.receipts) as baseline_receipts,
        median(receipts.amount_kzt) as baseline_turnover_kzt,
        median(receipts.avg_ticket_kzt) as baseline_avg_ticket_kzt,
        count(*) as baseline_days,
        any_value(windows.baseline_kind) as baseline_kind,
    from receipts
    inner join windows
        on receipts.business_date between windows.baseline_start and windows.baseline_end
    group by all

)

select * from final
