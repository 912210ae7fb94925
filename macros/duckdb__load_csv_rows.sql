{% macro duckdb__load_csv_rows(model, agate_table) %}
    {#- Seeds on DuckDB: overrides dbt-duckdb's loader, which COPYs the file
        straight into the typed table, so that an unreadable value (a
        malformed timestamp or date, a decimal written `12,50`) stops the
        load with one line naming the file, the line, the column, the value
        and the expected type (raise_on_unreadable_value) rather than a
        DuckDB conversion error. The file is COPYed as text into a temporary
        table (the same CSV reader, so the same values and NULLs), each
        typed column is checked with try_cast, and the rows are cast into
        the seed table in file order. A record is one line: the table's
        n-th row (in rowid order) is line n + 1 (the header is line 1).
        Only the columns of the seed table are loaded: a column added to
        the file since the table was created (a warning of check_raw_data)
        is ignored until a full refresh.
        model: the seed node; agate_table: its rows, as dbt read them. -#}
    {%- set text_table = adapter.quote(this.identifier ~ '__csv_text') -%}
    {%- set columns = seed_load_columns(model, agate_table, this) -%}
    {%- set load_sql -%}
        create or replace temporary table {{ text_table }} (
            {%- for column_name in agate_table.column_names %}
                {{ adapter.quote(column_name) }} varchar
                {%- if not loop.last %},{% endif %}
            {%- endfor %}
        );
        copy {{ text_table }} from '{{ adapter.get_seed_file_path(model) }}'
        (
            format csv,
            header true,
            delimiter '{{ config.get('delimiter', ',') }}'
        )
    {%- endset -%}
    {%- do run_query(load_sql) -%}
    {{ return(insert_checked_seed_rows(
        model,
        text_table,
        columns,
        'rowid - (select min(rowid) from ' ~ text_table ~ ') + 2',
    )) }}
{% endmacro %}
