{% macro raw_table(source_name, table_name) %}
    {#- The only way models read raw data: the seed of the same name or the
        warehouse table declared as a dbt source, switched by var raw_data. -#}
    {%- set raw_data = var('raw_data') -%}
    {%- if raw_data == 'seeds' -%}
        {{ return(ref(source_name ~ '_' ~ table_name)) }}
    {%- elif raw_data == 'warehouse' -%}
        {{ return(source(source_name, table_name)) }}
    {%- else -%}
        {{ exceptions.raise_compiler_error(
            "var raw_data must be 'seeds' or 'warehouse', got '"
            ~ raw_data ~ "'"
        ) }}
    {%- endif -%}
{% endmacro %}
