-- Each entity's segment shares add up to 1 and its records match the staging counts.
with snapshot as (

    select entity, sum(records) as records, sum(entity_share) as share
    from {{ ref('fct_talent_market_snapshot') }}
    group by all

),

expected as (

    select 'talent' as entity, count(*) as records from {{ ref('stg_ucs__talents') }}
    union all
    select 'company', count(*) from {{ ref('stg_ucs__companies') }}
    union all
    select 'job', count(*) from {{ ref('stg_ucs__jobs') }}
    union all
    select 'course', count(*) from {{ ref('stg_ucs__courses') }}

)

select *
from expected
full outer join snapshot using (entity)
where coalesce(expected.records, 0) > 0
  and (
    snapshot.records is distinct from expected.records
    or abs(snapshot.share - 1) > 0.01
  )
