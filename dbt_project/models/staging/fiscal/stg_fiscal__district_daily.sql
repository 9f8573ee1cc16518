with source as (

    select * from {{ source('fiscal', 'fiscal_district_daily') }}

),

renamed as (

    select
        cast(business_date as date) as business_date,
        district_code,
        district,
        category,
        outlets,
        receipts,
        amount_kzt,
        avg_ticket_kzt,
    from source

)

select * from renamed
