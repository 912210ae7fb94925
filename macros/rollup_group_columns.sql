{% macro rollup_group_columns(grain, grouped, dimension_types, prefix) %}
    {#- The leading columns of one group of a rollup (see README, "Rollups"):
        its time grain, the name of the dimension grouped by (`prefix` and
        the column; '' for none), the period (column `<grain>_start_date`),
        then every dimension column of `dimension_types` (column: SQL
        type): the grouped one itself, the others a typed NULL, so that the
        groups of all groupings stack with `union all`. Ends with a comma. -#}
    '{{ grain }}' as time_grain,
    '{{ prefix ~ grouped if grouped else "" }}' as segment_grouping,
    {{ grain }}_start_date as metric_time,
    {%- for column, column_type in dimension_types.items() %}
    {%- if column == grouped %}
    {{ column }},
    {%- else %}
    cast(null as {{ column_type }}) as {{ column }},
    {%- endif %}
    {%- endfor %}
{%- endmacro %}
