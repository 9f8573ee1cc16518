{#
    The city's real boundary as the flows draw it: for each agglomeration town and month, how
    much of its outgoing movement goes into Almaty's districts. A town at or above var
    functional_city_min_commuting_share belongs to the functional city.
#}
with od as (

    select * from {{ ref('int_telecom__od_daily') }}
    where origin_zone_type = 'agglomeration_town'

),

calendar as (

    select * from {{ ref('dim_calendar') }}

),

town_days as (

    select
        od.origin_zone as town,
        cast(date_trunc('month', od.activity_date) as date) as month_start,
        od.activity_date,
        coalesce(calendar.is_working_day, isodow(od.activity_date) < 6) as is_working_day,
        sum(od.trips) as outgoing_trips,
        coalesce(sum(od.trips) filter (where od.destination_zone_type = 'district'), 0)
            as trips_into_almaty,
        coalesce(sum(od.morning_peak_trips) filter (where od.destination_zone_type = 'district'), 0)
            as commuters_into_almaty,
    from od
    left join calendar on calendar.date_day = od.activity_date
    group by all

),

destinations as (

    select
        origin_zone as town,
        cast(date_trunc('month', activity_date) as date) as month_start,
        destination_district_code,
        sum(trips) as trips,
    from od
    where destination_zone_type = 'district'
    group by all

),

main_destination as (

    select
        town,
        month_start,
        arg_max(destination_district_code, trips) as main_destination_district_code,
    from destinations
    group by all

),

town_months as (

    select
        town,
        month_start,
        count(*) as days_observed,
        count(*) filter (where is_working_day) as working_days_observed,
        sum(outgoing_trips) as outgoing_trips,
        sum(trips_into_almaty) as trips_into_almaty,
        sum(outgoing_trips) filter (where is_working_day) as working_day_outgoing_trips,
        sum(commuters_into_almaty) filter (where is_working_day) as working_day_commuters,
    from town_days
    group by all

),

final as (

    select
        town_months.town,
        town_months.month_start,
        town_months.days_observed,
        town_months.working_days_observed,
        town_months.outgoing_trips,
        town_months.trips_into_almaty,
        round(town_months.trips_into_almaty / nullif(town_months.outgoing_trips, 0), 4)
            as commuting_share,
        round(
            town_months.working_day_commuters / nullif(town_months.working_days_observed, 0), 1
        ) as avg_daily_commuters,
        round(
            1000 * town_months.working_day_commuters
            / nullif(town_months.working_day_outgoing_trips, 0), 1
        ) as commuters_per_1000_flows,
        main_destination.main_destination_district_code,
        coalesce(
            round(town_months.trips_into_almaty / nullif(town_months.outgoing_trips, 0), 4)
            >= {{ var("functional_city_min_commuting_share") }},
            false
        ) as in_functional_city,
    from town_months
    left join main_destination using (town, month_start)

)

select * from final
