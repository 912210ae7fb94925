{% macro seed_load_columns(model, agate_table, table_columns=none) %}
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
