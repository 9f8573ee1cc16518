{# One row per course and skill taught: silver keeps the course's skills as an array only. #}
with courses as (

    select * from {{ ref('stg_ucs__courses') }}

),

unnested as (

    select distinct
        course_id,
        unnest(skills_taught) as skill,
        updated_at,
    from courses

)

select * from unnested
where skill is not null
