{#- Tables and views replaced in place, in one transaction.

    dbt's own materialisations build a model under a temporary name, rename the old relation
    to a backup, rename the new one into place, commit and drop the backup: written for
    warehouses whose readers must never see a half-built table. DuckDB's DDL is
    transactional, so `create or replace` inside the model's transaction already gives BI
    readers the old relation until the commit and the new one after it, in one statement
    instead of five or more (and the macro calls and cache updates around each). 50 of the
    project's 60 models are views or tables, each rebuilt by every build; the incremental
    models keep dbt-duckdb's materialisation.

    Hooks, `sql_header`, indexes, grants and persisted docs work as with the adapter's
    materialisations; a table with an enforced contract, dbt-duckdb's `partitioned_by` or
    `sorted_by`, or a Python model is built by the adapter's `create_table_as` after the old
    table is dropped in the same transaction.
    DuckDB refuses, with its own error, to replace a table that another's foreign key
    references. -#}


{#- The relation in the model's place, of another kind (or a table the adapter's DDL will
    create again), dropped inside the model's transaction: readers see it until the commit. -#}
{% macro lakehouse_drop_in_transaction(relation) %}
  {% call statement('drop_existing') -%}
    drop {{ relation.type }} if exists {{ relation }}
  {%- endcall %}
  {% do adapter.cache_dropped(relation) %}
{% endmacro %}


{#- What follows the model's statement, as in dbt's materialisations: the hooks inside the
    transaction, grants and docs, the commit, the hooks after it. -#}
{% macro lakehouse_commit(target_relation, existing_relation) %}
  {{ run_hooks(post_hooks, inside_transaction=True) }}
  {% do apply_grants(target_relation, config.get('grants'),
                     should_revoke=should_revoke(existing_relation, full_refresh_mode=True)) %}
  {% do persist_docs(target_relation, model) %}
  -- `COMMIT` happens here
  {{ adapter.commit() }}
  {{ run_hooks(post_hooks, inside_transaction=False) }}
{% endmacro %}


{% materialization table, adapter="duckdb", supported_languages=['sql', 'python'] %}
  {%- set language = model['language'] -%}
  {%- set existing_relation = load_cached_relation(this) -%}
  {%- set target_relation = this.incorporate(type='table') -%}
  {%- set partitioned_by = duckdb__get_partitioned_by(target_relation, false) -%}
  {%- set sorted_by = duckdb__get_sorted_by(target_relation, false) -%}
  {%- set contract = config.get('contract') -%}
  {%- set replace_in_one = language == 'sql' and not (contract and contract.enforced)
                           and not partitioned_by and not sorted_by -%}

  {{ run_hooks(pre_hooks, inside_transaction=False) }}
  -- `BEGIN` happens here:
  {{ run_hooks(pre_hooks, inside_transaction=True) }}

  {%- if existing_relation is not none and (existing_relation.type != 'table' or not replace_in_one) %}
    {% do lakehouse_drop_in_transaction(existing_relation) %}
  {%- endif %}

  {% call statement('main', language=language) -%}
    {%- if replace_in_one -%}
      {%- set sql_header = config.get('sql_header', none) -%}
      {{ sql_header if sql_header is not none }}
      create or replace table {{ target_relation }} as (
        {{ compiled_code }}
      )
    {%- else -%}
      {{ create_table_as(False, target_relation, compiled_code, language,
                         partitioned_by=partitioned_by, sorted_by=sorted_by) }}
    {%- endif -%}
  {%- endcall %}

  {% do create_indexes(target_relation) %}
  {{ lakehouse_commit(target_relation, existing_relation) }}
  {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}


{% materialization view, adapter="duckdb" %}
  {%- set existing_relation = load_cached_relation(this) -%}
  {%- set target_relation = this.incorporate(type='view') -%}
  {%- set contract = config.get('contract') -%}

  {{ run_hooks(pre_hooks, inside_transaction=False) }}
  -- `BEGIN` happens here:
  {{ run_hooks(pre_hooks, inside_transaction=True) }}

  {%- if existing_relation is not none and existing_relation.type != 'view' %}
    {% do lakehouse_drop_in_transaction(existing_relation) %}
  {%- endif %}

  {% call statement('main') -%}
    {%- if contract and contract.enforced -%}
      {{ get_assert_columns_equivalent(sql) }}
    {%- endif -%}
    {%- set sql_header = config.get('sql_header', none) -%}
    {{ sql_header if sql_header is not none }}
    create or replace view {{ target_relation }} as (
      {{ sql }}
    )
  {%- endcall %}

  {{ lakehouse_commit(target_relation, existing_relation) }}
  {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}
