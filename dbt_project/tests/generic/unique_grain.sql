{# The grain test: no two rows share the key columns ; dbt packages cannot be downloaded at run time. #}
{% test unique_grain(model, columns) %}

select {{ columns | join(', ') }}, count(*) as rows_with_key
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1

{% endtest %}
