with source as (

    select * from {{ source('ucs', 'ucs_talent_skills') }}

),

renamed as (

    select
        talent_id,
        skill,
        updated_at,
    from source

)

select * from renamed
