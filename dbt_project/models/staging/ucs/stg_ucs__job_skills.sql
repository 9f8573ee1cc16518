with source as (

    select * from {{ source('ucs', 'ucs_job_skills') }}

),

renamed as (

    select
        job_id,
        skill,
        updated_at,
    from source

)

select * from renamed
