with source as (

    select * from {{ source('health', 'morbidity_daily') }}

),

renamed as (

    select
        cast(report_date as date) as report_date,
        district_code,
        district,
        new_cases,
        deaths,
        cases_per_100k,
    from source

)

select * from renamed
