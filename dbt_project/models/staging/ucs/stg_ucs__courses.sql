with source as (

    select * from {{ source('ucs', 'ucs_courses') }}

),

renamed as (

    select
        course_id,
        university,
        title,
        skills_taught,
        len(skills_taught) as skills_taught_count,
        hours,
        format,
        created_at,
        cast(timezone('Asia/Almaty', created_at) as date) as created_date,
        updated_at,
        cast(updated_date as date) as updated_date,
    from source

)

select * from renamed
