with source as (

    select * from {{ source('ambulance', 'ambulance_calls') }}

),

renamed as (

    select
        call_id,
        call_ts,
        cast(call_date as date) as call_date,
        call_hour_local,
        district_code,
        district,
        reason,
        is_respiratory,
        age_band,
        priority,
        response_min,
    from source

)

select * from renamed
