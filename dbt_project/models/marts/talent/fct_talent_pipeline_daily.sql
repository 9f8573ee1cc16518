{#
    The talent platform's flows per local day, and the stocks they add up to, from the current
    records in silver: registrations by `created_at`, postings by `posted_at`, closes by the
    last change of a closed posting. Every day from the first activity to the last has a row.
    Rebuilt whole on every run, like the snapshot: silver holds the *current* record of every
    talent, company, posting and course, so a run of any day (a backfill behind days already
    built, too) can change the flows and stocks of every day before and after it. A row per
    day since the platform's first activity is a few thousand rows.
#}
with talents as (

    select * from {{ ref('stg_ucs__talents') }}

),

companies as (

    select * from {{ ref('stg_ucs__companies') }}

),

jobs as (

    select * from {{ ref('stg_ucs__jobs') }}

),

courses as (

    select * from {{ ref('stg_ucs__courses') }}

),

events as (

    select created_date as activity_date, 'talent_registered' as event from talents
    union all
    select updated_date, 'talent_updated' from talents
    union all
    select created_date, 'company_registered' from companies
    union all
    select posted_date, 'job_posted' from jobs
    union all
    select closed_date, 'job_closed' from jobs where closed_date is not null
    union all
    select created_date, 'course_added' from courses

),

spine as (

    select cast(day as date) as activity_date
    from range(
        (select min(activity_date) from events),
        (select max(activity_date) from events) + interval 1 day,
        interval 1 day
    ) as days (day)

),

per_day as (

    select
        activity_date,
        count(*) filter (where event = 'talent_registered') as talents_registered,
        count(*) filter (where event = 'talent_updated') as talent_profiles_last_changed,
        count(*) filter (where event = 'company_registered') as companies_registered,
        count(*) filter (where event = 'job_posted') as jobs_posted,
        count(*) filter (where event = 'job_closed') as jobs_closed,
        count(*) filter (where event = 'course_added') as courses_added,
    from events
    group by all

),

daily as (

    select
        spine.activity_date,
        coalesce(per_day.talents_registered, 0) as talents_registered,
        coalesce(per_day.talent_profiles_last_changed, 0) as talent_profiles_last_changed,
        coalesce(per_day.companies_registered, 0) as companies_registered,
        coalesce(per_day.jobs_posted, 0) as jobs_posted,
        coalesce(per_day.jobs_closed, 0) as jobs_closed,
        coalesce(per_day.courses_added, 0) as courses_added,
    from spine
    left join per_day using (activity_date)

),

final as (

    select
        activity_date,
        talents_registered,
        talent_profiles_last_changed,
        companies_registered,
        jobs_posted,
        jobs_closed,
        courses_added,
        sum(talents_registered) over to_date as talents_to_date,
        sum(companies_registered) over to_date as companies_to_date,
        sum(courses_added) over to_date as courses_to_date,
        sum(jobs_posted - jobs_closed) over to_date as open_jobs_end_of_day,
    from daily
    window to_date as (order by activity_date rows between unbounded preceding and current row)

)

select * from final
