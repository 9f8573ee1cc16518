{#
    Skills supply against demand on the talent platform, as the lake knows it now: talents who
    declare a skill (supply), open job postings that require it (demand), courses that teach
    it. A snapshot, rebuilt whole on every run.
    Gap rank 1 is the scarcest skill: skills in demand with no talent first, then by open
    postings per talent (descending), then by open postings; skills nobody asks for come last.
#}
with talents as (

    select * from {{ ref('stg_ucs__talents') }}

),

talent_skills as (

    select * from {{ ref('stg_ucs__talent_skills') }}

),

jobs as (

    select * from {{ ref('stg_ucs__jobs') }}

),

job_skills as (

    select * from {{ ref('stg_ucs__job_skills') }}

),

course_skills as (

    select * from {{ ref('stg_ucs__course_skills') }}

),

totals as (

    select
        (select count(*) from talents) as talents_total,
        (select count(*) from jobs where is_open) as open_jobs_total,
        (select max(updated_at) from talents) as talents_as_of,
        (select max(updated_at) from jobs) as jobs_as_of,

),

supply as (

    select skill, count(distinct talent_id) as talents_with_skill
    from talent_skills
    group by all

),

demand as (

    select
        job_skills.skill,
        count(distinct job_skills.job_id) as jobs_requiring,
        count(distinct job_skills.job_id) filter (where jobs.is_open) as open_jobs_requiring,
    from job_skills
    inner join jobs using (job_id)
    group by all

),

teaching as (

    select skill, count(distinct course_id) as courses_teaching
    from course_skills
    group by all

),

skills as (

    select skill from supply
    union
    select skill from demand
    union
    select skill from teaching

),

joined as (

    select
        skills.skill,
        coalesce(supply.talents_with_skill, 0) as talents_with_skill,
        coalesce(demand.jobs_requiring, 0) as jobs_requiring,
        coalesce(demand.open_jobs_requiring, 0) as open_jobs_requiring,
        coalesce(teaching.courses_teaching, 0) as courses_teaching,
        totals.talents_total,
        totals.open_jobs_total,
        cast(timezone('Asia/Almaty', greatest(totals.talents_as_of, totals.jobs_as_of)) as date)
            as as_of_date,
    from skills
    cross join totals
    left join supply using (skill)
    left join demand using (skill)
    left join teaching using (skill)

),

final as (

    select
        skill,
        talents_with_skill,
        jobs_requiring,
        open_jobs_requiring,
        courses_teaching,
        round(talents_with_skill / nullif(talents_total, 0), 4) as supply_share,
        round(open_jobs_requiring / nullif(open_jobs_total, 0), 4) as demand_share,
        round(open_jobs_requiring / nullif(talents_with_skill, 0), 4) as demand_supply_ratio,
        row_number() over (
            order by
                case when talents_with_skill = 0 and open_jobs_requiring > 0 then 0 else 1 end,
                open_jobs_requiring / nullif(talents_with_skill, 0) desc nulls last,
                open_jobs_requiring desc,
                skill
        ) as gap_rank,
        open_jobs_requiring > talents_with_skill as is_shortage,
        courses_teaching > 0 as is_taught,
        as_of_date,
    from joined

)

select * from final
