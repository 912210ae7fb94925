{% macro raw_contract() %}
    {#- The raw data contract (docs: kpi-spec section 1), declared once: the
        `columns` (name and data_type) of the source tables in
        models/staging/*/_<source>__sources.yml. A list with one entry per
        raw table: {source_name, table_name, identifier (the seed's name),
        columns: [{name, data_type}]}, data_type one of text, timestamp,
        date, decimal, integer, boolean. The `_parquet` sources repeat the
        same tables and are left out. -#}
    {%- set tables = [] -%}
    {%- for node in graph.sources.values() | sort(attribute='unique_id') -%}
        {%- if node.package_name == project_name
            and node.columns
            and not node.source_name.endswith('_parquet') -%}
            {%- do tables.append({
                'source_name': node.source_name,
                'table_name': node.name,
                'identifier': node.identifier,
                'columns': node.columns.values() | list,
            }) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(tables) }}
{% endmacro %}

{% macro raw_contract_type(contract_type) %}
    {#- The SQL type that staging casts a contract type to (contract_type:
        text, timestamp, date, decimal, integer or boolean), and an example
        of a readable value, as {sql_type, example}. -#}
    {%- set types = {
        'text': {'sql_type': dbt.type_string(), 'example': 'any text'},
        'timestamp': {
            'sql_type': dbt.type_timestamp(),
            'example': '2026-06-30 13:45:00',
        },
        'date': {'sql_type': 'date', 'example': '2026-06-30'},
        'decimal': {'sql_type': dbt.type_numeric(), 'example': '49.00'},
        'integer': {'sql_type': dbt.type_int(), 'example': '42'},
        'boolean': {
            'sql_type': dbt.type_boolean(), 'example': 'true or false'
        },
    } -%}
    {%- if contract_type not in types -%}
        {{ exceptions.raise_compiler_error(
            "unknown contract data_type '" ~ contract_type
            ~ "' (text, timestamp, date, decimal, integer or boolean)"
        ) }}
    {%- endif -%}
    {{ return(types[contract_type]) }}
{% endmacro %}
