{#
    The talent platform's current records counted by entity, segment and district: talents by
    education level, companies by industry, job postings by status, courses by format
    (courses have no district: their district is null). A snapshot, rebuilt whole on every run.
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

districts as (

    select * from {{ ref('districts') }}

),

records as (

    select 'talent' as entity, 'education_level' as segment_type, education_level as segment,
        district_code, updated_at
    from talents
    union all
    select 'company', 'industry', industry, district_code, updated_at from companies
    union all
    select 'job', 'status', status, district_code, updated_at from jobs
    union all
    select 'course', 'format', format, cast(null as varchar), updated_at from courses

),

counted as (

    select
        entity,
        segment_type,
        segment,
        district_code,
        count(*) as records,
        max(updated_at) as last_change_at,
    from records
    group by all

),

final as (

    select
        counted.entity,
        counted.segment_type,
        counted.segment,
        counted.district_code,
        districts.district,
        counted.records,
        round(counted.records / sum(counted.records) over (partition by counted.entity), 4)
            as entity_share,
        cast(timezone('Asia/Almaty', max(counted.last_change_at) over ()) as date) as as_of_date,
    from counted
    left join districts using (district_code)

)

select * from final
