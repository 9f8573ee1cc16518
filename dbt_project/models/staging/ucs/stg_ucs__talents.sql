{# The name and e-mail pseudonyms and the free-text profile are not selected: nothing
   downstream needs them. #}
with source as (

    select * from {{ source('ucs', 'ucs_talents') }}

),

renamed as (

    select
        talent_id,
        district_code,
        district,
        birth_year,
        education_level,
        university,
        skills,
        len(skills) as skill_count,
        courses_taken,
        len(courses_taken) as courses_taken_count,
        years_experience,
        created_at,
        cast(timezone('Asia/Almaty', created_at) as date) as created_date,
        updated_at,
        cast(updated_date as date) as updated_date,
    from source

)

select * from renamed
