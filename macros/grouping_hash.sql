{% macro grouping_hash(expression) %}
    {#- A key for grouping the values of expression cheaply: equal values
        (NULLs too) give equal keys; different values may share one. A
        query that needs exact groups uses it to narrow the rows down first
        (e.g. the keys seen more than once) and compares the values
        themselves after that. -#}
    {{ return(adapter.dispatch('grouping_hash', 'saas_kpis')(expression)) }}
{% endmacro %}

{% macro default__grouping_hash(expression) %}
    {#- The value itself, as text: exact, as costly as grouping the value. -#}
    coalesce(cast({{ expression }} as {{ dbt.type_string() }}), '')
{%- endmacro %}

{% macro duckdb__grouping_hash(expression) %}
    {#- DuckDB's 64-bit hash: grouping and joining integers is much cheaper
        than text. It hashes NULL too. -#}
    hash({{ expression }})
{%- endmacro %}
