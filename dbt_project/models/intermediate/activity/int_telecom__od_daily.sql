{#
    Origin-destination trips per day: the hourly moves summed over the day, with the morning
    and evening peaks and the kind of flow (within the city, into it, out of it).
#}
with od as (

    select * from {{ ref('stg_telecom__od_hourly') }}
    where origin_zone <> destination_zone

),

zones as (

    select * from {{ ref('int_telecom__zones') }}

),

daily as (

    select
        activity_date,
        origin_zone,
        destination_zone,
        sum(subscribers) as trips,
        coalesce(sum(subscribers) filter (
            where hour_local between {{ var("morning_peak_start_hour") }}
                and {{ var("morning_peak_end_hour") }}
        ), 0) as morning_peak_trips,
        coalesce(sum(subscribers) filter (
            where hour_local between {{ var("evening_peak_start_hour") }}
                and {{ var("evening_peak_end_hour") }}
        ), 0) as evening_peak_trips,
        count(*) as hours_reported,
    from od
    group by all

),

final as (

    select
        daily.activity_date,
        daily.origin_zone,
        daily.destination_zone,
        origins.zone_type as origin_zone_type,
        origins.district_code as origin_district_code,
        destinations.zone_type as destination_zone_type,
        destinations.district_code as destination_district_code,
        case
            when origins.zone_type = 'district' and destinations.zone_type = 'district'
                then 'intra_city'
            when destinations.zone_type = 'district' then 'into_city'
            when origins.zone_type = 'district' then 'out_of_city'
            else 'outside_city'
        end as flow_kind,
        (origins.zone_type = 'agglomeration_town' and destinations.zone_type = 'district')
        or (origins.zone_type = 'district' and destinations.zone_type = 'agglomeration_town')
            as is_agglomeration_commuting,
        daily.trips,
        daily.morning_peak_trips,
        daily.evening_peak_trips,
        daily.hours_reported,
    from daily
    left join zones as origins on origins.zone = daily.origin_zone
    left join zones as destinations on destinations.zone = daily.destination_zone

)

select * from final
