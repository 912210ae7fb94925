{% macro surrogate_key(columns) %}
    {#- Key of a composite grain: the values of `columns` (column names or
        expressions), each cast to text, joined with `|`, e.g.
        `<account_id>|<YYYY-MM-DD>` for an id and a date. Readable in a query
        result and the same text on every engine (dates cast to ISO
        `YYYY-MM-DD`). A NULL part makes the key NULL, as a key column's
        not_null test expects. -#}
    {%- set parts = [] -%}
    {%- for column in columns -%}
        {%- if not loop.first -%}{%- do parts.append("'|'") -%}{%- endif -%}
        {%- do parts.append(
            "cast(" ~ column ~ " as " ~ dbt.type_string() ~ ")"
        ) -%}
    {%- endfor -%}
    {{ dbt.concat(parts) }}
{%- endmacro %}
