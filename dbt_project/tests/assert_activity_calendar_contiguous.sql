-- The calendar covers its range day by day, and the regimes sit where the city announced them.
with calendar as (

    select * from {{ ref('dim_calendar') }}

),

span as (

    select
        count(*) as days,
        min(date_day) as first_day,
        max(date_day) as last_day,
    from calendar

)

select 'gap or overlap' as problem, first_day as date_day
from span
where days <> datediff('day', first_day, last_day) + 1
    or first_day <> cast('{{ var("calendar_start") }}' as date)
    or last_day <> cast('{{ var("calendar_end") }}' as date)

union all

select 'regime' as problem, date_day
from calendar
where (date_day = date '2020-03-18' and restriction_regime <> 'none')
    or (date_day = date '2020-03-19' and restriction_regime <> 'state_of_emergency')
    or (date_day = date '2020-07-05' and restriction_regime <> 'second_quarantine')
    or (date_day = date '2021-09-01' and restriction_regime <> 'none')
    or restriction_level not between 0 and 1
    or (is_working_day and (is_weekend or is_public_holiday))
