with days as (

    select cast(generate_series as date) as date_day
    from generate_series(
        cast('{{ var("calendar_start") }}' as date),
        cast('{{ var("calendar_end") }}' as date),
        interval 1 day
    )

),

-- Kazakhstan's public holidays on their own date (the carried-over days off are not modelled).
fixed_holidays (holiday_month, holiday_day, holiday_name, first_year, last_year) as (

    values
        (1, 1, 'New Year', 1900, 2999),
        (1, 2, 'New Year', 1900, 2999),
        (1, 7, 'Orthodox Christmas', 1900, 2999),
        (3, 8, 'International Women''s Day', 1900, 2999),
        (3, 21, 'Nauryz', 1900, 2999),
        (3, 22, 'Nauryz', 1900, 2999),
        (3, 23, 'Nauryz', 1900, 2999),
        (5, 1, 'Kazakhstan People''s Unity Day', 1900, 2999),
        (5, 7, 'Defender of the Fatherland Day', 1900, 2999),
        (5, 9, 'Victory Day', 1900, 2999),
        (7, 6, 'Capital Day', 1900, 2999),
        (8, 30, 'Constitution Day', 1900, 2999),
        (10, 25, 'Republic Day', 2022, 2999),
        (12, 1, 'First President Day', 1900, 2021),
        (12, 16, 'Independence Day', 1900, 2999),
        (12, 17, 'Independence Day', 1900, 2021)

),

-- Kurban Ait (Eid al-Adha) moves with the lunar calendar: its first day is a day off.
movable_holidays (holiday_date, holiday_name) as (

    values
        (date '2019-08-11', 'Kurban Ait'),
        (date '2020-07-31', 'Kurban Ait'),
        (date '2021-07-20', 'Kurban Ait'),
        (date '2022-07-09', 'Kurban Ait'),
        (date '2023-06-28', 'Kurban Ait')

),

-- The restriction regimes the city of Almaty announced in 2020-2021, with their stringency
-- (0 none .. 1 full lockdown).
regimes (regime_start, regime_end, restriction_regime, restriction_level) as (

    values
        (date '2020-03-19', date '2020-05-10', 'state_of_emergency', 1.0),
        (date '2020-05-11', date '2020-07-04', 'easing', 0.4),
        (date '2020-07-05', date '2020-08-16', 'second_quarantine', 0.8),
        (date '2020-08-17', date '2020-12-31', 'phased_reopening', 0.3),
        (date '2021-01-01', date '2021-08-31', 'partial_restrictions', 0.25)

),

holiday_dates as (

    select
        days.date_day,
        fixed_holidays.holiday_name,
    from days
    inner join fixed_holidays
        on month(days.date_day) = fixed_holidays.holiday_month
        and day(days.date_day) = fixed_holidays.holiday_day
        and year(days.date_day) between fixed_holidays.first_year and fixed_holidays.last_year

    union all

    select
        holiday_date as date_day,
        holiday_name,
    from movable_holidays

),

holidays as (

    select
        date_day,
        string_agg(distinct holiday_name, ', ' order by holiday_name) as holiday_name,
    from holiday_dates
    group by date_day

),

final as (

    select
        days.date_day,
        year(days.date_day) as year,
        quarter(days.date_day) as quarter,
        month(days.date_day) as month,
        cast(date_trunc('month', days.date_day) as date) as month_start,
        monthname(days.date_day) as month_name,
        day(days.date_day) as day_of_month,
        isoyear(days.date_day) as iso_year,
        week(days.date_day) as iso_week,
        isodow(days.date_day) as iso_weekday,
        dayname(days.date_day) as weekday_name,
        isodow(days.date_day) >= 6 as is_weekend,
        holidays.holiday_name,
        holidays.holiday_name is not null as is_public_holiday,
        isodow(days.date_day) < 6 and holidays.holiday_name is null as is_working_day,
        coalesce(regimes.restriction_regime, 'none') as restriction_regime,
        coalesce(regimes.restriction_level, 0.0) as restriction_level,
    from days
    left join holidays using (date_day)
    left join regimes
        on days.date_day between regimes.regime_start and regimes.regime_end

)

select * from final
