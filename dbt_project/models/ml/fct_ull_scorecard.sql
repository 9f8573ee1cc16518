{# The ULL evaluation index per area and month, with each primary factor's score beside it. #}
with scores as (

    select * from {{ source('ml', 'ml_ull_scores') }}

),

factors as (

    select
        month_start,
        area_code,
        method,
        {% for factor in ['smart_mobility', 'smart_economy', 'smart_governance', 'smart_living', 'smart_people'] -%}
        max(case when primary_factor = '{{ factor }}' then factor_score end) as {{ factor }}_score,
        {% endfor %}
    from {{ source('ml', 'ml_ull_factor_scores') }}
    group by all

)

select
    scores.month_start,
    scores.area_code,
    scores.area_name,
    scores.area_kind,
    scores.method,
    scores.score,
    scores.band,
    scores.rank,
    scores.coverage,
    {% for factor in ['smart_mobility', 'smart_economy', 'smart_governance', 'smart_living', 'smart_people'] -%}
    factors.{{ factor }}_score,
    {% endfor %}
    scores.mlflow_run_id,
from scores
left join factors using (month_start, area_code, method)
