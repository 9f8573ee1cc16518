with source as (

    select * from {{ source('telecom', 'telecom_district_daily') }}

),

renamed as (

    select
        cast(activity_date as date) as activity_date,
        district_code,
        district,
        mean_hourly_subscribers,
        peak_hourly_subscribers,
        daytime_activity_index,
        daytime_mobility_index,
        cell_hours_suppressed,
    from source

)

select * from renamed
