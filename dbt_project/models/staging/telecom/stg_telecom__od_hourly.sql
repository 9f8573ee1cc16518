with source as (

    select * from {{ source('telecom', 'telecom_od_hourly') }}

),

renamed as (

    select
        cast(activity_date as date) as activity_date,
        hour_start,
        hour_local,
        origin as origin_zone,
        destination as destination_zone,
        subscribers,
        from_agglomeration,
        to_agglomeration,
    from source

)

select * from renamed
