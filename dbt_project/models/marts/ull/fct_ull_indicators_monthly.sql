{#
    The Urban Living Lab indicators per district and month, in long form: the raw values
    the ULL scoring job normalises to 0-100 and weights. Definitions, units and directions
    live in the `ull_indicators` seed; indicators without a district value (bus routes cross
    districts) give every district the city's value.
#}

with districts as (

    select * from {{ ref('districts') }}

),

months as (

    select distinct date_trunc('month', signal_date) as month_start
    from {{ ref('fct_epidemic_signals_daily') }}

),

district_months as (

    select months.month_start, districts.district_code, districts.population_2020
    from months cross join districts

),

activity as (

    select
        date_trunc('month', activity_date) as month_start,
        district_code,
        avg(daytime_mobility_index) as daytime_mobility_index,
        avg(activity_vs_baseline_pct) as activity_vs_baseline_pct,
    from {{ ref('fct_district_activity_daily') }}
    group by all

),

epidemic as (

    select
        date_trunc('month', signal_date) as month_start,
        district_code,
        avg(median_response_min) as ambulance_median_response_min,
        avg(ambulance_calls_per_100k) as ambulance_calls_per_100k,
        avg(cases_per_100k) as new_cases_per_100k,
    from {{ ref('fct_epidemic_signals_daily') }}
    group by all

),

business as (

    select
        month_start,
        district_code,
        sum(recovery_index * baseline_turnover_kzt) / nullif(sum(baseline_turnover_kzt), 0)
            as business_recovery_index,
    from {{ ref('fct_business_recovery_monthly') }}
    group by all

),

receipts as (

    select
        date_trunc('month', business_date) as month_start,
        district_code,
        sum(receipts) / count(distinct business_date) as receipts_per_day,
    from {{ ref('fct_business_daily') }}
    group by all

),

transit_performance as (

    select
        date_trunc('month', service_date) as month_start,
        sum(on_time_arrivals) / nullif(sum(arrivals_with_schedule), 0) as bus_on_time_share,
        sum(excess_wait_min * headways_observed) / nullif(sum(headways_observed), 0)
            as bus_excess_wait_min,
    from {{ ref('fct_route_performance_daily') }}
    group by all

),

ridership as (

    select
        date_trunc('month', service_date) as month_start,
        sum(boardings) / count(distinct service_date) as boardings_per_day,
    from {{ ref('fct_route_ridership_hourly') }}
    group by all

),

talents as (

    select
        district_months.month_start,
        district_months.district_code,
        count(talents.talent_id) as talents,
    from district_months
    left join {{ ref('stg_ucs__talents') }} as talents
        on talents.district_code = district_months.district_code
        and talents.created_date < district_months.month_start + interval 1 month
    group by all

),

open_jobs as (

    select
        district_months.month_start,
        district_months.district_code,
        count(jobs.job_id) as open_jobs,
    from district_months
    left join {{ ref('stg_ucs__jobs') }} as jobs
        on jobs.district_code = district_months.district_code
        and jobs.posted_date < district_months.month_start + interval 1 month
        and (jobs.closed_date is null or jobs.closed_date >= district_months.month_start + interval 1 month)
    group by all

),

wide as (

    select
        district_months.month_start,
        district_months.district_code,
        activity.daytime_mobility_index,
        activity.activity_vs_baseline_pct,
        transit_performance.bus_on_time_share,
        transit_performance.bus_excess_wait_min,
        1000 * ridership.boardings_per_day / sum(district_months.population_2020)
            over (partition by district_months.month_start) as boardings_per_1000_residents,
        business.business_recovery_index,
        1000 * receipts.receipts_per_day / district_months.population_2020
            as receipts_per_1000_residents,
        epidemic.ambulance_median_response_min,
        epidemic.ambulance_calls_per_100k,
        epidemic.new_cases_per_100k,
        1000 * talents.talents / district_months.population_2020 as talents_per_1000_residents,
        open_jobs.open_jobs / nullif(talents.talents, 0) as open_jobs_per_talent,
    from district_months
    left join activity using (month_start, district_code)
    left join epidemic using (month_start, district_code)
    left join business using (month_start, district_code)
    left join receipts using (month_start, district_code)
    left join talents using (month_start, district_code)
    left join open_jobs using (month_start, district_code)
    left join transit_performance using (month_start)
    left join ridership using (month_start)

),

long as (

    unpivot wide
    on columns(* exclude (month_start, district_code))
    into name indicator value value

),

final as (

    select
        cast(long.month_start as date) as month_start,
        long.district_code,
        long.indicator,
        round(long.value, 4) as value,
        definitions.primary_factor,
        definitions.secondary_factor,
        definitions.unit,
        definitions.higher_is_better,
        definitions.spatial_level,
    from long
    inner join {{ ref('ull_indicators') }} as definitions using (indicator)
    where long.value is not null

)

select * from final
