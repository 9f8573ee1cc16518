with source as (

    select * from {{ source('fiscal', 'pharmacy_demand_daily') }}

),

renamed as (

    select
        cast(business_date as date) as business_date,
        district_code,
        district,
        outlets as pharmacy_outlets,
        receipts as pharmacy_receipts,
        amount_kzt as pharmacy_amount_kzt,
        receipts_per_10k as pharmacy_receipts_per_10k,
    from source

)

select * from renamed
