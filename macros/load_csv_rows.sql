{% macro postgres__load_csv_rows(model, agate_table) %}
    {#- dbt's default seed loader on PostgreSQL, with the placeholders of a
        batch built by string repetition: a Jinja loop over every value
        takes minutes on the larger seeds. The header is checked against
        the raw data contract first (check_seed_columns).
        model: the seed node; agate_table: its rows. -#}
    {%- do check_seed_columns(model, agate_table.column_names) -%}
    {%- set cols_sql = get_seed_column_quoted_csv(model, agate_table.column_names) -%}
    {%- set placeholders = [get_binding_char()] * (agate_table.column_names | length) -%}
    {%- set row_sql = '(' ~ placeholders | join(', ') ~ ')' -%}
    {%- set statements = [] -%}
    {%- for chunk in agate_table.rows | batch(get_batch_size()) -%}
        {%- set bindings = [] -%}
        {%- for row in chunk -%}
            {%- do bindings.extend(row) -%}
        {%- endfor -%}
        {%- set sql -%}
            insert into {{ this.render() }} ({{ cols_sql }}) values
            {{ ([row_sql] * (chunk | length)) | join(',\n') }}
        {%- endset -%}
        {%- do adapter.add_query(sql, bindings=bindings, abridge_sql_log=True) -%}
        {%- if loop.first -%}
            {%- do statements.append(sql) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(statements[0]) }}
{% endmacro %}
