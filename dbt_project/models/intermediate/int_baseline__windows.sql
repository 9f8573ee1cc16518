{#
    The baseline window each signal is compared against: the pre-pandemic window of vars
    baseline_start..baseline_end when the signal has rows in it, else its first
    baseline_fallback_days days present.
#}
with signal_days as (

    select distinct 'telecom_presence' as signal, activity_date as signal_date,
    from {{ ref('stg_telecom__district_hourly') }}

    union all

    select distinct 'telecom_flows' as signal, activity_date as signal_date,
    from {{ ref('stg_telecom__od_hourly') }}

    union all

    select distinct 'fiscal' as signal, business_date as signal_date,
    from {{ ref('stg_fiscal__district_daily') }}

),

ranked as (

    select
        signal,
        signal_date,
        row_number() over (partition by signal order by signal_date) as day_number,
    from signal_days

),

coverage as (

    select
        signal,
        count(*) filter (
            where signal_date between cast('{{ var("baseline_start") }}' as date)
                and cast('{{ var("baseline_end") }}' as date)
        ) as days_in_window,
        min(signal_date) as first_date,
        max(signal_date) filter (where day_number <= {{ var("baseline_fallback_days") }})
            as fallback_end,
        count(*) filter (where day_number <= {{ var("baseline_fallback_days") }})
            as fallback_days,
    from ranked
    group by signal

),

final as (

    select
        signal,
        case when days_in_window > 0 then 'pre_pandemic' else 'first_days' end as baseline_kind,
        case
            when days_in_window > 0 then cast('{{ var("baseline_start") }}' as date)
            else first_date
        end as baseline_start,
        case
            when days_in_window > 0 then cast('{{ var("baseline_end") }}' as date)
            else fallback_end
        end as baseline_end,
        case when days_in_window > 0 then days_in_window else fallback_days end as baseline_days,
    from coverage

)

select * from final
