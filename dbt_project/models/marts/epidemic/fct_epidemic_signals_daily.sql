{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='signal_date',
    )
}}

{% set window %}
    between cast('{{ window_start() }}' as date) and cast('{{ window_end() }}' as date)
{% endset %}

with morbidity as (

    select
        report_date as signal_date,
        district_code,
        new_cases,
        deaths,
        cases_per_100k,
    from {{ ref('stg_health__morbidity') }}
    {% if is_incremental() %} where report_date {{ window }} {% endif %}

),

calls as (

    select
        call_date as signal_date,
        district_code,
        count(*) as ambulance_calls,
        count(*) filter (where is_respiratory) as respiratory_calls,
        count(*) filter (where reason = 'cardiac') as cardiac_calls,
        count(*) filter (where reason = 'stroke') as stroke_calls,
        count(*) filter (where reason = 'injury') as injury_calls,
        count(*) filter (where not is_respiratory and reason not in ('cardiac', 'stroke', 'injury'))
            as other_calls,
        median(response_min) as median_response_min,
    from {{ ref('stg_ambulance__calls') }}
    {% if is_incremental() %} where call_date {{ window }} {% endif %}
    group by all

),

pharmacy as (

    select
        business_date as signal_date,
        district_code,
        pharmacy_receipts,
        pharmacy_amount_kzt,
        pharmacy_receipts_per_10k,
    from {{ ref('stg_fiscal__pharmacy_demand') }}
    {% if is_incremental() %} where business_date {{ window }} {% endif %}

),

mobility as (

    select
        activity_date as signal_date,
        district_code,
        daytime_activity_index,
        daytime_mobility_index,
    from {{ ref('stg_telecom__district_daily') }}
    {% if is_incremental() %} where activity_date {{ window }} {% endif %}

),

days as (

    select signal_date from morbidity
    union select signal_date from calls
    union select signal_date from pharmacy
    union select signal_date from mobility

),

spine as (

    select days.signal_date, districts.district_code, districts.district, districts.population_2020
    from days
    cross join {{ ref('districts') }} as districts

),

final as (

    select
        spine.signal_date,
        spine.district_code,
        spine.district,
        morbidity.new_cases,
        morbidity.deaths,
        morbidity.cases_per_100k,
        coalesce(calls.ambulance_calls, 0) as ambulance_calls,
        coalesce(calls.respiratory_calls, 0) as respiratory_calls,
        coalesce(calls.cardiac_calls, 0) as cardiac_calls,
        coalesce(calls.stroke_calls, 0) as stroke_calls,
        coalesce(calls.injury_calls, 0) as injury_calls,
        coalesce(calls.other_calls, 0) as other_calls,
        round(1e5 * coalesce(calls.ambulance_calls, 0) / spine.population_2020, 2)
            as ambulance_calls_per_100k,
        calls.median_response_min,
        pharmacy.pharmacy_receipts,
        pharmacy.pharmacy_amount_kzt,
        pharmacy.pharmacy_receipts_per_10k,
        mobility.daytime_activity_index,
        mobility.daytime_mobility_index,
    from spine
    left join morbidity using (signal_date, district_code)
    left join calls using (signal_date, district_code)
    left join pharmacy using (signal_date, district_code)
    left join mobility using (signal_date, district_code)

)

select * from final
