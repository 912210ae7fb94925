{% macro raw_table(source_name, table_name) %}
    {#- The only way models read raw data, switched by var raw_data: the seed
        of the same name (`seeds`), the warehouse table declared as a dbt
        source (`warehouse`), or the Parquet files of that table under var
        raw_parquet_dir (`parquet`, a dbt-duckdb external source). -#}
    {%- set raw_data = var('raw_data') -%}
    {%- if raw_data == 'seeds' -%}
        {{ return(ref(source_name ~ '_' ~ table_name)) }}
    {%- elif raw_data == 'warehouse' -%}
        {{ return(source(source_name, table_name)) }}
    {%- elif raw_data == 'parquet' -%}
        {{ return(source(source_name ~ '_parquet', table_name)) }}
    {%- else -%}
        {{ exceptions.raise_compiler_error(
            "var raw_data must be 'seeds', 'warehouse' or 'parquet', got '"
            ~ raw_data ~ "'"
        ) }}
    {%- endif -%}
{% endmacro %}
