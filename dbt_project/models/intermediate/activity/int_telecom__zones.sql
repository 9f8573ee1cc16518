{# Every zone of the origin-destination flows: an Almaty district or an agglomeration town. #}
with od as (

    select * from {{ ref('stg_telecom__od_hourly') }}

),

districts as (

    select * from {{ ref('districts') }}

),

zone_flags as (

    select origin_zone as zone, bool_or(from_agglomeration) as is_agglomeration_town,
    from od
    group by origin_zone

    union all

    select destination_zone as zone, bool_or(to_agglomeration) as is_agglomeration_town,
    from od
    group by destination_zone

),

zones as (

    select zone, bool_or(is_agglomeration_town) as is_agglomeration_town,
    from zone_flags
    group by zone

),

final as (

    select
        zones.zone,
        case
            when districts.district_code is not null then 'district'
            when zones.is_agglomeration_town then 'agglomeration_town'
        end as zone_type,
        districts.district_code,
    from zones
    left join districts on districts.district = zones.zone

)

select * from final
