-- The pipeline's stocks never go negative, and every cumulative count is the previous day's
-- plus the day's flow.
with days as (

    select
        *,
        lag(talents_to_date) over (order by activity_date) as talents_before,
        lag(open_jobs_end_of_day) over (order by activity_date) as open_jobs_before,
        lag(activity_date) over (order by activity_date) as day_before,
    from {{ ref('fct_talent_pipeline_daily') }}

)

select *
from days
where (
    open_jobs_end_of_day < 0
    or talents_registered < 0
    or jobs_posted < 0
    or jobs_closed < 0
    or (day_before = activity_date - 1 and talents_to_date != talents_before + talents_registered)
    or (day_before = activity_date - 1 and open_jobs_end_of_day != open_jobs_before + jobs_posted - jobs_closed)
  )
