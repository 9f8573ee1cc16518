{#- The day window a partitioned run rebuilds. Dagster passes it in the environment
    (LAKEHOUSE_DBT_MIN_DATE / LAKEHOUSE_DBT_MAX_DATE) so that a new window does not make dbt
    parse the whole project again, as a new `--vars` would; by hand, `--vars` works too. -#}
{% macro window_start() %}{{ return(env_var('LAKEHOUSE_DBT_MIN_DATE', var('min_date'))) }}{% endmacro %}

{% macro window_end() %}{{ return(env_var('LAKEHOUSE_DBT_MAX_DATE', var('max_date'))) }}{% endmacro %}
