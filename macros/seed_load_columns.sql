{% macro seed_load_columns(model, agate_table, relation=none) %}
    {#- The columns a seed loader loads, in file order, each as {name,
        quoted, sql_type (its column_types entry, else the type dbt
        inferred), cast (from text to sql_type), is_typed (not text),
        contract_type (its raw data contract type, else sql_type)}: what
        the loaders cast and what raise_on_unreadable_value checks. table_columns: the lower-case
        column names of the seed table, to leave out a column the file has
        and the table lacks; none: every column of the file.
        model: the seed node; agate_table: its rows. -#}
    {%- set column_override = model['config'].get('column_types', {}) -%}
    {%- set contract = seed_contract_types(model.alias or model.name) -%}
    {%- set table_columns = none -%}
    {%- if relation is not none -%}
        {%- set table_columns = adapter.get_columns_in_relation(relation)
            | map(attribute='name') | map('lower') | list -%}
    {%- endif -%}
    {%- set columns = [] -%}
    {%- for column_name in agate_table.column_names
        if table_columns is none or column_name | lower in table_columns -%}
        {%- set sql_type = column_override.get(
            column_name, adapter.convert_type(
                agate_table, agate_table.column_names.index(column_name)
            )
        ) -%}
        {%- do columns.append({
            'name': column_name,
            'quoted': adapter.quote(column_name),
            'sql_type': sql_type,
            'cast': 'cast(' ~ adapter.quote(column_name)
                ~ ' as ' ~ sql_type ~ ')',
            'is_typed': sql_type | lower not in ['varchar', 'text', 'string'],
            'contract_type': contract.get(column_name, sql_type),
        }) -%}
    {%- endfor -%}
    {{ return(columns) }}
{% endmacro %}

{% macro insert_checked_seed_rows(model, text_table, columns, line_number) %}
    {#- The end of a seed load from text_table (the file's rows as text):
        fails on the first unreadable value of a typed column
        (raise_on_unreadable_value), else casts the rows into the seed table
        in file order and drops text_table. columns: seed_load_columns;
        line_number: SQL expression of a row's line in the file. Returns
        the insert statement. -#}
    {%- do raise_on_unreadable_value(
        text_table,
        'raw table ' ~ this.identifier ~ ' (' ~ model.original_file_path ~ ')',
        columns | selectattr('is_typed') | list,
        line_number=line_number,
    ) -%}
    {%- set insert_sql -%}
        insert into {{ this.render() }} (
            {{ columns | map(attribute='quoted') | join(', ') }}
        )
        select {{ columns | map(attribute='cast') | join(', ') }}
        from {{ text_table }}
        order by {{ line_number }}
    {%- endset -%}
    {%- do run_query(insert_sql) -%}
    {%- do run_query('drop table ' ~ text_table) -%}
    {{ return(insert_sql) }}
{% endmacro %}

{% macro seed_contract_types(identifier) %}
    {#- The raw data contract's type of each column of the seed identifier,
        by column name ({} for a seed outside the contract). -#}
    {%- set types = {} -%}
    {%- for table in raw_contract() if table.identifier == identifier -%}
        {%- for column in table.columns -%}
            {%- do types.update({column.name: column.data_type}) -%}
        {%- endfor -%}
    {%- endfor -%}
    {{ return(types) }}
{% endmacro %}
