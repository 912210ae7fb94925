{% macro postgres__load_csv_rows(model, agate_table) %}
    {#- Seeds on PostgreSQL. The header is checked against the raw data
        contract first (check_seed_columns). The rows go as text, with their
        line in the file, into a temporary table (batched inserts whose
        placeholders are built by string repetition: a Jinja loop over every
        value takes minutes on the larger seeds). Each typed column is then
        checked (raise_on_unreadable_value), so that an unreadable value
        stops the load with one line naming the file, the line, the column,
        the value and the expected type rather than PostgreSQL's "invalid
        input syntax", and the rows are cast into the seed table in file
        order. A record is one line: the n-th row is line n + 1 (the header
        is line 1). Only the columns of the seed table are loaded, as on
        DuckDB. model: the seed node; agate_table: its rows. -#}
    {%- do check_seed_columns(model, agate_table.column_names) -%}
    {%- set text_table = adapter.quote(this.identifier ~ '__csv_text') -%}
    {%- set columns = seed_load_columns(model, agate_table, this) -%}
    {%- set create_sql -%}
        create temporary table {{ text_table }} (
            line_number integer
            {%- for column_name in agate_table.column_names %},
                {{ adapter.quote(column_name) }} text
            {%- endfor %}
        )
    {%- endset -%}
    {%- do run_query(create_sql) -%}
    {%- set cols_sql = get_seed_column_quoted_csv(model, agate_table.column_names) -%}
    {%- set placeholders = [get_binding_char()]
        * (agate_table.column_names | length + 1) -%}
    {%- set row_sql = '(' ~ placeholders | join(', ') ~ ')' -%}
    {%- for chunk in agate_table.rows | batch(get_batch_size()) -%}
        {%- set first_line = loop.index0 * get_batch_size() + 2 -%}
        {%- set bindings = [] -%}
        {%- for row in chunk -%}
            {%- do bindings.append(first_line + loop.index0) -%}
            {%- do bindings.extend(row) -%}
        {%- endfor -%}
        {%- set sql -%}
            insert into {{ text_table }} (line_number, {{ cols_sql }}) values
            {{ ([row_sql] * (chunk | length)) | join(',\n') }}
        {%- endset -%}
        {%- do adapter.add_query(sql, bindings=bindings, abridge_sql_log=True) -%}
    {%- endfor -%}
    {{ return(insert_checked_seed_rows(
        model, text_table, columns, 'line_number'
    )) }}
{% endmacro %}
