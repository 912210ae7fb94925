{% macro spark__load_csv_rows(model, agate_table) %}
    {#- Seeds on Spark: overrides dbt-spark's loader, which sends the rows as
        batched `insert ... values` statements whose parsing takes minutes
        for the 64,000 events of the shipped seeds. Spark's own CSV reader
        reads the seed file instead; each column is cast to its column_types
        entry (or the type dbt inferred), as dbt-spark does. FAILFAST stops
        on a malformed line, and a row count different from the one dbt read
        fails the load, so no row is dropped silently. Before the insert,
        each typed column is checked (raise_on_unreadable_value), so that an
        unreadable value stops the load with one line naming the file, the
        line, the column, the value and the expected type rather than
        Spark's CAST_INVALID_INPUT; a record is one line, numbered in the
        order Spark reads the single file. Only where Spark runs
        on this machine (a local master, as with the session method) and so
        can read the file; elsewhere dbt-spark's loader. The header is
        checked against the raw data contract first (check_seed_columns). -#}
    {%- do check_seed_columns(model, agate_table.column_names) -%}
    {%- set master = run_query('set spark.master').columns[1].values()[0] -%}
    {%- if not master.startswith('local') -%}
        {{ return(dbt.spark__load_csv_rows(model, agate_table)) }}
    {%- endif -%}
    {%- set columns = seed_load_columns(model, agate_table) -%}
    {%- set csv_path = model.root_path ~ '/' ~ model.original_file_path -%}
    {%- set csv_view = this.identifier ~ '__csv' -%}
    {%- set read_sql -%}
        create or replace temporary view {{ csv_view }}
        using csv
        options (
            path '{{ csv_path }}',
            header 'true',
            multiLine 'true',
            escape '"',
            mode 'FAILFAST'
        )
    {%- endset -%}
    {%- set insert_sql -%}
        insert into {{ this.render() }}
        select {{ columns | map(attribute='cast') | join(', ') }}
        from {{ csv_view }}
    {%- endset -%}
    {%- do run_query(read_sql) -%}
    {%- do raise_on_unreadable_value(
        '(select *, row_number() over (order by monotonically_increasing_id())'
            ~ ' + 1 as line_number from ' ~ csv_view ~ ') as numbered',
        'raw table ' ~ this.identifier ~ ' (' ~ model.original_file_path ~ ')',
        columns | selectattr('is_typed') | list,
        line_number='line_number',
    ) -%}
    {%- do run_query(insert_sql) -%}
    {%- set loaded = run_query(
        'select count(*) from ' ~ this.render()
    ).columns[0].values()[0] -%}
    {%- do run_query('drop view ' ~ csv_view) -%}
    {%- if loaded != agate_table.rows | length -%}
        {{ exceptions.raise_compiler_error(
            'seed ' ~ this.identifier ~ ': Spark read ' ~ loaded
            ~ ' rows from ' ~ csv_path ~ ', dbt read '
            ~ agate_table.rows | length
        ) }}
    {%- endif -%}
    {{ return(insert_sql) }}
{% endmacro %}
