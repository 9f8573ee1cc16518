with source as (

    select * from {{ source('ucs', 'ucs_companies') }}

),

renamed as (

    select
        company_id,
        name as company_name,
        industry,
        district_code,
        district,
        employees,
        created_at,
        cast(timezone('Asia/Almaty', created_at) as date) as created_date,
        updated_at,
        cast(updated_date as date) as updated_date,
    from source

)

select * from renamed
