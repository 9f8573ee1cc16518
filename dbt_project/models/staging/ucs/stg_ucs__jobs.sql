{# The free-text description is not selected. #}
with source as (

    select * from {{ source('ucs', 'ucs_jobs') }}

),

renamed as (

    select
        job_id,
        company_id,
        title,
        required_skills,
        len(required_skills) as required_skill_count,
        district_code,
        district,
        salary_min_kzt,
        salary_max_kzt,
        employment_type,
        status,
        is_open,
        posted_at,
        cast(posted_date as date) as posted_date,
        updated_at,
        cast(updated_date as date) as updated_date,
        -- The close is a posting's last change, so a closed posting closed on its last update.
        case when status = 'closed' then cast(updated_date as date) end as closed_date,
    from source

)

select * from renamed
