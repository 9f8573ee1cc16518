-- Skills supply and demand stay consistent: open postings are among all postings, shares are
-- in 0-1, the ratio is open postings per talent, and the gap ranks run 1..n without holes.
with skills as (

    select * from {{ ref('fct_skill_supply_demand') }}

),

ranks as (

    select count(*) as skills, max(gap_rank) as max_rank, min(gap_rank) as min_rank from skills

)

select skills.skill, skills.gap_rank, 'row out of range' as failure
from skills
where open_jobs_requiring > jobs_requiring
   or talents_with_skill < 0
   or courses_teaching < 0
   or supply_share not between 0 and 1
   or demand_share not between 0 and 1
   or demand_supply_ratio < 0
   or (talents_with_skill > 0 and abs(demand_supply_ratio - open_jobs_requiring / talents_with_skill) > 0.0001)
union all
select null, max_rank, 'gap ranks are not 1..n'
from ranks
where skills > 0 and (min_rank != 1 or max_rank != skills)
