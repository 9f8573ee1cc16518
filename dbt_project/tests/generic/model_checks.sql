{# Every rule declared on a model, in one test: its grain (no two rows share the key), single
   unique columns, required columns (one scan for all of them), accepted values and
   relationships to other models. One dbt node and one Dagster asset check per model (and per
   `where` window), where a test per rule cost dbt ~70 ms of its own each and the UI a check
   each. Fails with a row per rule broken: the rule, its columns, how many keys or rows break
   it and an example value. #}
{% test model_checks(model, grain=none, unique=none, not_null=none, accepted_values=none, relationships=none) %}

{%- set checks = [] -%}

{%- if grain -%}
{%- do checks.append(
    "select 'unique_grain' as rule, '" ~ grain | join(', ') ~ "' as columns, count(*) as failing, "
    ~ "min(key_value) as example from (select concat_ws(', ', " ~ grain | join(', ')
    ~ ") as key_value from " ~ model ~ " group by " ~ grain | join(', ')
    ~ " having count(*) > 1) having count(*) > 0"
) -%}
{%- endif -%}

{%- for column in unique or [] -%}
{%- do checks.append(
    "select 'unique' as rule, '" ~ column ~ "' as columns, count(*) as failing, "
    ~ "min(cast(" ~ adapter.quote(column) ~ " as varchar)) as example from (select "
    ~ adapter.quote(column) ~ " from " ~ model ~ " where " ~ adapter.quote(column)
    ~ " is not null group by " ~ adapter.quote(column) ~ " having count(*) > 1) having count(*) > 0"
) -%}
{%- endfor -%}

{%- if not_null -%}
{%- set counts, names = [], [] -%}
{%- for column in not_null -%}
{%- do names.append(adapter.quote(column)) -%}
{%- do counts.append("count(*) filter (where " ~ names[-1] ~ " is null) as " ~ names[-1]) -%}
{%- endfor -%}
{%- do checks.append(
    "select 'not_null' as rule, column_name as columns, null_rows as failing, "
    ~ "cast(null as varchar) as example from (select " ~ counts | join(', ') ~ " from " ~ model
    ~ ") unpivot (null_rows for column_name in (" ~ names | join(', ') ~ ")) where null_rows > 0"
) -%}
{%- endif -%}

{%- for rule in accepted_values or [] -%}
{%- set literals = [] -%}
{%- for value in rule['values'] -%}
{%- if value is string and rule.get('quote', true) -%}
{%- do literals.append("'" ~ value | replace("'", "''") ~ "'") -%}
{%- else -%}
{%- do literals.append(value | string) -%}
{%- endif -%}
{%- endfor -%}
{%- set column = adapter.quote(rule['column']) -%}
{%- do checks.append(
    "select 'accepted_values' as rule, '" ~ rule['column'] ~ "' as columns, count(*) as failing, "
    ~ "min(cast(" ~ column ~ " as varchar)) as example from " ~ model ~ " where " ~ column
    ~ " not in (" ~ literals | join(', ') ~ ") having count(*) > 0"
) -%}
{%- endfor -%}

{%- for rule in relationships or [] -%}
{%- set column = adapter.quote(rule['column']) -%}
{%- set field = adapter.quote(rule['field']) -%}
{%- do checks.append(
    "select 'relationships' as rule, '" ~ rule['column'] ~ " -> " ~ rule['to'].identifier ~ "."
    ~ rule['field'] ~ "' as columns, count(*) as failing, min(cast(child." ~ column
    ~ " as varchar)) as example from (select * from " ~ model ~ ") as child where child." ~ column
    ~ " is not null and not exists (select 1 from " ~ rule['to'] ~ " as parent where parent."
    ~ field ~ " = child." ~ column ~ ") having count(*) > 0"
) -%}
{%- endfor -%}

{{ checks | join('\nunion all\n') }}

{% endtest %}
