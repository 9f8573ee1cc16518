{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='activity_date',
    )
}}

with od as (

    select * from {{ ref('int_telecom__od_daily') }}
    {% if is_incremental() %}
    where activity_date between cast('{{ window_start() }}' as date) and cast('{{ window_end() }}' as date)
    {% endif %}

),

final as (

    select
        activity_date,
        origin_zone,
        destination_zone,
        origin_zone_type,
        origin_district_code,
        destination_zone_type,
        destination_district_code,
        flow_kind,
        is_agglomeration_commuting,
        trips,
        morning_peak_trips,
        evening_peak_trips,
        round(morning_peak_trips / nullif(trips, 0), 4) as morning_peak_share,
        hours_reported,
    from od

)

select * from final
