{# The current top open jobs for each talent, with the job's title and district, the skills
   the talent lacks for it and the courses that teach them. #}
with matches as (

    select * from {{ source('ml', 'ml_talent_job_matches') }}

),

jobs as (

    select job_id, title, district_code from {{ ref('stg_ucs__jobs') }}

)

select
    matches.talent_id,
    matches.job_id,
    jobs.title as job_title,
    jobs.district_code as job_district_code,
    matches.rank,
    matches.score,
    matches.gap_skills,
    len(matches.gap_skills) as gap_skill_count,
    matches.suggested_course_ids,
    matches.model_version,
    matches.mlflow_run_id,
    matches.computed_at,
from matches
left join jobs using (job_id)
