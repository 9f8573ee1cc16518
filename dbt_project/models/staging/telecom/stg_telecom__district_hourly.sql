with source as (

    select * from {{ source('telecom', 'telecom_district_hourly') }}

),

renamed as (

    select
        cast(activity_date as date) as activity_date,
        hour_start,
        hour_local,
        district_code,
        district,
        home as home_subscribers,
        work as work_subscribers,
        visitor as visitor_subscribers,
        total as total_subscribers,
        activity_index,
        mobility_index,
        cells_kept,
        cells_suppressed,
    from source

)

select * from renamed
