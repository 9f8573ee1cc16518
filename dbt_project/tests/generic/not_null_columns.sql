{# Every listed column is set on every row. One scan of the model checks them all, where a
   `not_null` per column would scan it once each and cost dbt a node (and Dagster an asset
   check) each. Fails with a row per column that has nulls: its name and how many rows. #}
{% test not_null_columns(model, columns) %}

select column_name, null_rows
from (
    select
    {%- for column in columns %}
        count(*) filter (where {{ adapter.quote(column) }} is null) as {{ adapter.quote(column) }}{{ "," if not loop.last }}
    {%- endfor %}
    from {{ model }}
)
unpivot (null_rows for column_name in (
    {%- for column in columns %}{{ adapter.quote(column) }}{{ ", " if not loop.last }}{% endfor -%}
))
where null_rows > 0

{% endtest %}
