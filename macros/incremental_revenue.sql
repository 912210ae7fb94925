{#- The incremental revenue models (int_invoice_lines_spread,
    fct_daily_revenue, int_weekly_revenue_accumulated,
    fct_account_weekly_revenue). Invoices carry no update timestamp: a
    restated, removed or back-dated line can touch any past service period.
    So each line has a content hash (line_hash of int_invoice_lines_priced),
    and each of these models records, in int_invoice_lines_applied, the
    lines its stored rows were built from. A run compares them with the
    lines of its input and rebuilds only the days (or ISO weeks) that the
    differing lines touch, old and new version, plus the days between the
    last stored day and the input's last day (as_of_date moved). -#}

{% macro row_hash(columns) %}
    {#- A content hash of a row: md5 of the columns' text, NULL written as
        \N, joined with `|`. -#}
    {%- set parts = [] -%}
    {%- for column in columns -%}
        {%- if not loop.first -%}{%- do parts.append("'|'") -%}{%- endif -%}
        {%- do parts.append(
            "coalesce(cast(" ~ column ~ " as " ~ dbt.type_string()
            ~ "), '\\N')"
        ) -%}
    {%- endfor -%}
    {{ dbt.hash(dbt.concat(parts)) }}
{%- endmacro %}

{% macro invoice_lines_applied_by(model_name) %}
    {#- The invoice lines that the stored rows of model_name were built
        from, as a subquery with the columns of int_invoice_lines_priced
        that the comparison reads. A model that reads them must declare
        `-- depends_on: {{ ref('int_invoice_lines_applied') }}`. -#}
    (
        select
            invoice_id,
            line_hash,
            service_period_start_date,
            service_period_end_date
        from {{ ref('int_invoice_lines_applied') }}
        where model_name = '{{ model_name }}'
    )
{%- endmacro %}

{% macro revenue_rebuild_ranges(
    current_lines,
    date_column,
    by_week=false,
    upstream=none,
    upstream_column=none
) %}
    {#- What an incremental run of a revenue model rebuilds: a list of
        [first day, last day] ranges of date_column (Python dates, sorted,
        disjoint); none in a full build; [[none, none]] (everything) when
        the model has no recorded lines or no rows. The ranges are the
        service days, old and new, of each line of current_lines (a
        relation or subquery with line_hash and the service period) whose
        hash the model has not recorded, and of each recorded line no
        longer there; and the days between the model's last stored day and
        its input's: max(upstream_column) of upstream, or as_of_date when
        upstream is none. by_week: date_column holds ISO week starts, and
        each range widens to whole ISO weeks through the end of its last
        ISO year, because the year-to-date revenue of every later week of
        the year changes with it. -#}
    {%- if not (execute and is_incremental()) -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set applied_lines = invoice_lines_applied_by(model.name) -%}
    {%- set bounds_query -%}
        select
            (select count(*) from {{ applied_lines }} as applied_lines)
                as applied_line_count,
            (select max({{ date_column }}) from {{ this }}) as stored_through
            {%- if upstream is not none %},
            (select max({{ upstream_column }}) from {{ upstream }})
                as upstream_through
            {%- endif %}
    {%- endset -%}
    {%- set bounds = run_query(bounds_query).rows[0] -%}
    {%- set day = modules.datetime.timedelta(days=1) -%}
    {%- if upstream is none -%}
        {%- set as_of = as_date(var('as_of_date')) -%}
        {%- set input_open = as_of + day -%}
        {%- set input_through = as_of -%}
    {%- elif bounds[2] is not none -%}
        {%- set input_open = coverage_bounds(bounds[2], by_week)[0] -%}
        {%- set input_through = coverage_bounds(bounds[2], by_week)[1] -%}
    {%- endif -%}
    {%- if bounds[0] == 0 or bounds[1] is none or input_open is not defined -%}
        {{ return([[none, none]]) }}
    {%- endif -%}
    {#- The days of which only one side may hold rows. -#}
    {%- set stored_open = coverage_bounds(bounds[1], by_week)[0] -%}
    {%- set stored_through = coverage_bounds(bounds[1], by_week)[1] -%}
    {%- set moved_first = [stored_open, input_open] | min -%}
    {%- set moved_last = [stored_through, input_through] | max -%}
    {%- set ranges_query -%}
        with

        current_lines as (
            select * from {{ current_lines }} as current_lines
        ),

        applied_lines as (
            select * from {{ applied_lines }} as applied_lines
        ),

        changed_lines as (
            select
                service_period_start_date,
                service_period_end_date
            from current_lines
            where line_hash not in (select line_hash from applied_lines)
            union all
            select
                service_period_start_date,
                service_period_end_date
            from applied_lines
            where line_hash not in (select line_hash from current_lines)
        ),

        changed_days as (
            select
                service_period_start_date as first_date,
                {{ add_days('service_period_end_date', -1) }} as last_date
            from changed_lines
            {%- if moved_first <= moved_last %}
            union all
            select
                cast('{{ moved_first }}' as date) as first_date,
                cast('{{ moved_last }}' as date) as last_date
            {%- endif %}
        ),

        ordered as (
            select
                first_date,
                last_date,
                max(last_date) over (
                    order by first_date, last_date
                    rows between unbounded preceding and 1 preceding
                ) as previous_last_date
            from changed_days
        ),

        numbered as (
            select
                first_date,
                last_date,
                sum(
                    case
                        when
                            previous_last_date is null
                            or first_date
                            > {{ add_days('previous_last_date', 1) }}
                            then 1
                        else 0
                    end
                ) over (
                    order by first_date, last_date
                    rows between unbounded preceding and current row
                ) as range_number
            from ordered
        )

        select
            min(first_date) as first_date,
            max(last_date) as last_date
        from numbered
        group by range_number
        order by 1
    {%- endset -%}
    {%- set ranges = [] -%}
    {%- for row in run_query(ranges_query).rows -%}
        {%- set first_date = as_date(row[0]) -%}
        {%- set last_date = as_date(row[1]) -%}
        {%- if by_week -%}
            {%- do ranges.append([
                first_date - modules.datetime.timedelta(
                    days=first_date.weekday()
                ),
                iso_year_last_day(last_date),
            ]) -%}
        {%- else -%}
            {%- do ranges.append([first_date, last_date]) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(merged_date_ranges(ranges)) }}
{%- endmacro %}

{% macro coverage_bounds(last_stored, by_week) %}
    {#- [the first day that may be missing, the last day that may be
        present] of a table whose latest date_column value is last_stored:
        the day after it for a day column; for a week column, the week's
        Monday and Sunday (the week may be partial). -#}
    {%- set last_date = as_date(last_stored) -%}
    {%- if by_week -%}
        {{ return([last_date, last_date + modules.datetime.timedelta(days=6)]) }}
    {%- endif -%}
    {{ return([last_date + modules.datetime.timedelta(days=1), last_date]) }}
{%- endmacro %}

{% macro as_date(value) %}
    {#- A date or timestamp of a query result as a Python date. -#}
    {{ return(modules.datetime.date.fromisoformat((value | string)[:10])) }}
{%- endmacro %}

{% macro iso_year_last_day(date_value) %}
    {#- The Sunday of the last ISO week of the ISO year of a date (the week
        that contains 28 December). -#}
    {%- set december_28 = modules.datetime.date(
        date_value.isocalendar()[0], 12, 28
    ) -%}
    {{ return(december_28 + modules.datetime.timedelta(
        days=6 - december_28.weekday()
    )) }}
{%- endmacro %}

{% macro merged_date_ranges(ranges) %}
    {#- Sorted [first, last] date ranges, overlapping or adjacent ones
        merged. -#}
    {%- set merged = [] -%}
    {%- for range in ranges | sort(attribute='0') -%}
        {%- if merged and range[0] <= merged[-1][1]
            + modules.datetime.timedelta(days=1) -%}
            {%- set previous = merged.pop() -%}
            {%- do merged.append([previous[0], [previous[1], range[1]] | max]) -%}
        {%- else -%}
            {%- do merged.append([range[0], range[1]]) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(merged) }}
{%- endmacro %}

{% macro in_date_ranges(date_column, ranges) %}
    {#- The filter of a revenue model's input: date_column in one of the
        ranges of revenue_rebuild_ranges; true in a full build or when
        everything is rebuilt, false when nothing is. -#}
    {%- if ranges is none or (ranges and ranges[0][0] is none) -%}
        true
    {%- elif not ranges -%}
        1 = 0
    {%- else -%}
        (
        {%- for range in ranges %}
            {% if not loop.first %}or {% endif -%}
            {{ date_column }} between cast('{{ range[0] }}' as date)
            and cast('{{ range[1] }}' as date)
        {%- endfor %}
        )
    {%- endif -%}
{%- endmacro %}

{% macro overlaps_date_ranges(start_column, end_column, ranges) %}
    {#- Like in_date_ranges, for a period [start_column, end_column) that
        overlaps a range. -#}
    {%- if ranges is none or (ranges and ranges[0][0] is none) -%}
        true
    {%- elif not ranges -%}
        1 = 0
    {%- else -%}
        (
        {%- for range in ranges %}
            {% if not loop.first %}or {% endif -%}
            ({{ start_column }} <= cast('{{ range[1] }}' as date)
            and {{ end_column }} > cast('{{ range[0] }}' as date))
        {%- endfor %}
        )
    {%- endif -%}
{%- endmacro %}

{% macro delete_rebuilt_ranges(date_column, ranges) %}
    {#- Pre-hook of an incremental revenue model: delete the stored rows
        that the run rebuilds (every row when everything is rebuilt), so
        that a day or week that ends up with no rows goes too. -#}
    {%- if ranges -%}
        delete from {{ this }}
        where {{ in_date_ranges(date_column, ranges) }}
    {%- endif -%}
{%- endmacro %}

{% macro record_invoice_lines_applied(current_lines) %}
    {#- Post-hook of an incremental revenue model: its rows of
        int_invoice_lines_applied become current_lines, in the model's own
        transaction, so the record always matches the stored rows. Nothing
        where the models are plain tables (Spark). -#}
    {%- if incremental_materialization() != 'incremental' -%}
        {{ return('') }}
    {%- endif -%}
    {%- set applied = ref('int_invoice_lines_applied') -%}
    delete from {{ applied }}
    where
        model_name = '{{ model.name }}'
        and line_hash not in (
            select current_lines.line_hash
            from {{ current_lines }} as current_lines
        );
    insert into {{ applied }} (
        model_name,
        invoice_id,
        line_hash,
        service_period_start_date,
        service_period_end_date
    )
    select
        '{{ model.name }}' as model_name,
        current_lines.invoice_id,
        current_lines.line_hash,
        current_lines.service_period_start_date,
        current_lines.service_period_end_date
    from {{ current_lines }} as current_lines
    where current_lines.line_hash not in (
        select applied_lines.line_hash
        from {{ invoice_lines_applied_by(model.name) }} as applied_lines
    )
{%- endmacro %}
