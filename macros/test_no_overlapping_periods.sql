{% test no_overlapping_periods(model, partition_by, start_column, end_column) %}
    {#- Pairs of rows of the same partition whose half-open periods
        [start, end) overlap; a NULL end means "still open". -#}
    with periods as (
        select
            {{ partition_by }} as partition_key,
            {{ start_column }} as period_start,
            {{ end_column }} as period_end,
            row_number() over (
                partition by {{ partition_by }}
                order by {{ start_column }}, {{ end_column }}
            ) as period_number
        from {{ model }}
    )

    select
        earlier.partition_key,
        earlier.period_start as earlier_start,
        earlier.period_end as earlier_end,
        later.period_start as later_start,
        later.period_end as later_end
    from periods as earlier
    inner join periods as later
        on earlier.partition_key = later.partition_key
        and earlier.period_number < later.period_number
    where later.period_start < coalesce(earlier.period_end, later.period_start)
        or earlier.period_end is null
{% endtest %}
