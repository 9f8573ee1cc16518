-- Receipts and turnover are never negative, the ticket is turnover per receipt, and the
-- comparisons to the baseline agree with the values they compare.
select business_date, district_code, category
from {{ ref('fct_business_daily') }}
where receipts < 0
    or turnover_kzt < 0
    or outlets <= 0
    or (receipts > 0 and abs(avg_ticket_kzt - turnover_kzt / receipts) > 0.01)
    or baseline_turnover_kzt < 0
    or baseline_receipts < 0
    or turnover_vs_baseline_pct < -100
    or receipts_vs_baseline_pct < -100
    or abs(
        turnover_vs_baseline_pct
        - 100 * (turnover_kzt / nullif(baseline_turnover_kzt, 0) - 1)
    ) > 0.1
