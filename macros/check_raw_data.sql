{% macro check_raw_data() %}
    {#- on-run-start hook: each raw table that staging reads (var raw_data)
        is checked against the raw data contract (raw_contract) before any
        seed or model runs.
        - A contract column that the raw table lacks fails the run, naming
          the table and the column (all such columns, in one error).
        - A column that is not in the contract is a warning that names the
          table and the column; staging ignores it.
        - Warehouse tables and Parquet files only (a seed's values are
          checked as it loads, see duckdb__load_csv_rows): a column whose
          type cannot hold its contract type fails, naming the type; a text
          column of a typed contract column fails on its first unreadable
          value (raise_on_unreadable_value). Only the schema is read unless
          a column is text where the contract wants another type.
        With seeds, the header of each CSV file is read where the engine
        can read local files (raw_csv_columns); elsewhere the seed loader
        checks it. Returns no SQL. -#}
    {%- if not execute -%}
        {{ return('') }}
    {%- endif -%}
    {%- set raw_data = var('raw_data') -%}
    {%- set missing = [] -%}
    {%- set to_check = [] -%}
    {%- for table in raw_contract() -%}
        {%- if raw_data == 'seeds' -%}
            {%- set seed = graph.nodes.get(
                'seed.' ~ project_name ~ '.' ~ table.identifier
            ) -%}
            {%- set location = seed.original_file_path -%}
            {%- set columns = raw_csv_columns(
                seed.root_path ~ '/' ~ seed.original_file_path,
                seed.config.get('delimiter') or ','
            ) -%}
        {%- else -%}
            {%- set relation = raw_table(table.source_name, table.table_name) -%}
            {%- set location = relation.render() | trim -%}
            {%- set columns = raw_relation_columns(relation) -%}
        {%- endif -%}
        {%- if columns is not none -%}
            {%- set label = 'raw table ' ~ table.identifier
                ~ ' (' ~ location ~ ')' -%}
            {%- do missing.extend(check_raw_columns(
                label, table.columns, columns | map(attribute='name') | list
            )) -%}
            {%- if raw_data != 'seeds' -%}
                {%- do to_check.append({
                    'relation': relation,
                    'label': label,
                    'contract': table.columns,
                    'columns': columns,
                }) -%}
            {%- endif -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if missing -%}
        {{ exceptions.raise_compiler_error(missing | join('\n')) }}
    {%- endif -%}
    {%- for table in to_check -%}
        {%- do check_raw_types(
            table.relation, table.label, table.contract, table.columns
        ) -%}
    {%- endfor -%}
    {{ return('') }}
{% endmacro %}

{% macro check_raw_columns(label, contract_columns, column_names) %}
    {#- Warns of each column in column_names that is not in contract_columns
        (names compared case-insensitively) and returns one message per
        contract column that is missing. label names the raw table. -#}
    {%- set found = column_names | map('lower') | list -%}
    {%- set expected = contract_columns | map(attribute='name') | list -%}
    {%- for column_name in column_names
        if column_name | lower not in expected -%}
        {%- do exceptions.warn(
            'Unexpected column in ' ~ label ~ ': ' ~ column_name
            ~ ' (not in the contract, ignored)'
        ) -%}
    {%- endfor -%}
    {%- set missing = [] -%}
    {%- for column_name in expected if column_name not in found -%}
        {%- do missing.append(
            'Missing column in ' ~ label ~ ': ' ~ column_name
        ) -%}
    {%- endfor -%}
    {{ return(missing) }}
{% endmacro %}

{% macro check_seed_columns(model, column_names) %}
    {#- The header check of check_raw_data, for a seed loader on an engine
        whose hook cannot read the file (raw_csv_columns is none there):
        fails on a missing contract column and warns of an unexpected one.
        model: the seed node; column_names: the header dbt read. -#}
    {%- for table in raw_contract() if table.identifier == model.name -%}
        {%- set missing = check_raw_columns(
            'raw table ' ~ table.identifier
                ~ ' (' ~ model.original_file_path ~ ')',
            table.columns,
            column_names
        ) -%}
        {%- if missing -%}
            {{ exceptions.raise_compiler_error(missing | join('\n')) }}
        {%- endif -%}
    {%- endfor -%}
{% endmacro %}

{% macro check_raw_types(relation, label, contract_columns, columns) %}
    {#- Fails when a column of relation (columns: dbt Column objects) cannot
        hold its contract type, or, for a text column with another contract
        type, on its first unreadable value. Any number type passes for
        decimal and integer, a date or timestamp type for date and
        timestamp. -#}
    {%- set by_name = {} -%}
    {%- for column in columns -%}
        {%- do by_name.update({column.name | lower: column}) -%}
    {%- endfor -%}
    {%- set text_columns = [] -%}
    {%- for contract_column in contract_columns
        if contract_column.data_type != 'text' -%}
        {%- set column = by_name[contract_column.name] -%}
        {%- set wanted = contract_column.data_type -%}
        {%- set family = raw_type_family(column.data_type) -%}
        {%- if family == 'text' -%}
            {%- do text_columns.append({
                'name': column.name,
                'sql_type': raw_contract_type(wanted).sql_type,
                'contract_type': wanted,
            }) -%}
        {%- elif family != {
            'decimal': 'number',
            'integer': 'number',
            'date': 'temporal',
            'timestamp': 'temporal',
            'boolean': 'boolean',
        }[wanted] -%}
            {{ exceptions.raise_compiler_error(
                'Wrong type in ' ~ label ~ ', column ' ~ column.name ~ ': '
                ~ column.data_type ~ ' (expected ' ~ wanted ~ ', e.g. '
                ~ raw_contract_type(wanted).example ~ ')'
            ) }}
        {%- endif -%}
    {%- endfor -%}
    {%- do raise_on_unreadable_value(relation, label, text_columns) -%}
{% endmacro %}

{% macro raw_type_family(data_type) %}
    {#- The kind of a column's SQL type, as the engine names it: boolean,
        text, temporal (dates and timestamps), number or other. -#}
    {%- set data_type = data_type | lower -%}
    {%- if 'bool' in data_type -%}
        {{ return('boolean') }}
    {%- elif modules.re.search('char|text|string', data_type) -%}
        {{ return('text') }}
    {%- elif modules.re.search('date|timestamp', data_type) -%}
        {{ return('temporal') }}
    {%- elif modules.re.search(
        '^(tiny|small|big|huge|u)?int|dec|numeric|double|float|real|number',
        data_type
    ) -%}
        {{ return('number') }}
    {%- endif -%}
    {{ return('other') }}
{% endmacro %}

{% macro raw_csv_columns(path, delimiter) %}
    {#- The header of the CSV file at path, as objects with a `name`; none
        where the engine cannot read the file (the seed loader checks the
        header then). -#}
    {{ return(adapter.dispatch('raw_csv_columns', 'saas_kpis')(
        path, delimiter
    )) }}
{% endmacro %}

{% macro default__raw_csv_columns(path, delimiter) %}
    {{ return(none) }}
{% endmacro %}

{% macro duckdb__raw_csv_columns(path, delimiter) %}
    {%- set header_query -%}
        select * from read_csv(
            '{{ path }}', header = true, all_varchar = true,
            delim = '{{ delimiter }}'
        )
        limit 0
    {%- endset -%}
    {%- set columns = [] -%}
    {%- for column_name in run_query(header_query).column_names -%}
        {%- do columns.append({'name': column_name}) -%}
    {%- endfor -%}
    {{ return(columns) }}
{% endmacro %}

{% macro raw_relation_columns(relation) %}
    {#- The columns (dbt Column objects) of a raw relation. -#}
    {{ return(adapter.dispatch('raw_relation_columns', 'saas_kpis')(
        relation
    )) }}
{% endmacro %}

{% macro default__raw_relation_columns(relation) %}
    {{ return(adapter.get_columns_in_relation(relation)) }}
{% endmacro %}

{% macro duckdb__raw_relation_columns(relation) %}
    {#- A dbt-duckdb external source (Parquet files) is not in the catalog:
        its columns are those of a query on it. -#}
    {%- if not relation.external -%}
        {{ return(adapter.get_columns_in_relation(relation)) }}
    {%- endif -%}
    {%- set described = run_query(
        'describe select * from ' ~ relation.render()
    ) -%}
    {%- set columns = [] -%}
    {%- for row in described.rows -%}
        {%- do columns.append(api.Column.create(row[0], row[1])) -%}
    {%- endfor -%}
    {{ return(columns) }}
{% endmacro %}
