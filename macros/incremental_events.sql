{% macro incremental_watermark_filter(timestamp_column) %}
    {#- In an incremental run, keep the source rows whose timestamp is later
        than the target's latest one minus var event_lookback_days: late
        loads within the lookback are picked up; unique_key makes reloading
        a row idempotent. In a full refresh, or on an empty target: no
        filter. -#}
    {{ return(later_than_lookback(timestamp_column, timestamp_column) or 'true') }}
{%- endmacro %}

{% macro later_than_lookback(source_column, target_column) %}
    {#- In an incremental run, the filter `source_column > <bound>`, where
        the bound is the target's latest target_column minus var
        event_lookback_days; none in a full build or on an empty target.
        The bound is looked up first and written as a literal, so that the
        engine can skip the files and row groups of older rows: DuckDB
        prunes Parquet files and row groups on a literal bound, not on a
        subquery, which would read the whole event log. -#}
    {%- if not (execute and is_incremental()) -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set latest_query -%}
        select max({{ target_column }}) from {{ this }}
    {%- endset -%}
    {%- set latest = run_query(latest_query).columns[0].values()[0] -%}
    {%- if latest is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set bound = latest - modules.datetime.timedelta(
        days=var('event_lookback_days')
    ) -%}
    {{ return(
        source_column ~ " > cast('" ~ bound.isoformat(sep=' ')
        ~ "' as " ~ dbt.type_timestamp() ~ ")"
    ) }}
{%- endmacro %}

{% macro delete_rows_unknown_as_of(timestamp_columns) %}
    {#- Pre-hook of an incremental model: when as_of_date moves back, rows
        recorded after its end leave the target, so that an incremental run
        equals a full refresh. -#}
    {%- if is_incremental() -%}
        delete from {{ this }}
        where
        {%- for column in timestamp_columns %}
            {% if not loop.first %}or {% endif %}not {{ known_as_of(column) }}
        {%- endfor %}
    {%- endif -%}
{%- endmacro %}

{% macro event_mart_rebuild_from(
    upstream,
    upstream_date_column,
    upstream_received_column,
    date_column,
    received_column='last_received_at'
) %}
    {#- The first day that an incremental run of an event mart rebuilds, as
        a SQL date literal; none in a full build, or when the target is
        empty (rebuild everything). The event marts store, per row, the
        latest received_at behind it (received_column), and rebuild every
        day from the earliest of:
        - the day of an upstream row received after the target's latest
          delivery minus var event_lookback_days (new and late events, and
          late loads within the lookback, as in stg_events__tracks);
        - the day of a target row received after the end of as_of_date
          (as_of_date moved back: the row must shrink or go);
        - the day after the target's last day (days not stored yet);
        - the day after as_of_date.
        upstream: the relation the mart reads; its upstream_date_column and
        upstream_received_column. date_column: the target's day column. A
        model that stores week parts turns the day into its week part. -#}
    {%- set new_rows_filter = later_than_lookback(
        upstream_received_column, received_column
    ) -%}
    {%- if new_rows_filter is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set rebuild_from_query -%}
        select min(candidate_date) from (
            select min({{ upstream_date_column }}) as candidate_date
            from {{ upstream }}
            where {{ new_rows_filter }}
            union all
            select min({{ date_column }}) as candidate_date
            from {{ this }}
            where not {{ known_as_of(received_column) }}
            union all
            select {{ add_days('max(' ~ date_column ~ ')', 1) }}
                as candidate_date
            from {{ this }}
            union all
            select {{ add_days(as_of_date(), 1) }} as candidate_date
        ) as candidates
    {%- endset -%}
    {%- set rebuild_from = run_query(rebuild_from_query).columns[0].values()[0] -%}
    {{ return("cast('" ~ rebuild_from ~ "' as date)") }}
{%- endmacro %}

{% macro in_rebuild_window(date_column, rebuild_from, by_week_part=false) %}
    {#- The filter of an event mart's input: rows on or after rebuild_from
        (from event_mart_rebuild_from), or on or after the start of its
        week part when by_week_part; true when rebuild_from is none (a full
        build). -#}
    {%- if rebuild_from is none -%}
        true
    {%- elif by_week_part -%}
        {{ date_column }} >= {{ week_part_start(rebuild_from) }}
    {%- else -%}
        {{ date_column }} >= {{ rebuild_from }}
    {%- endif -%}
{%- endmacro %}

{% macro launched_features_differ(stored_features) %}
    {#- True when the features launched by as_of_date, or their launch
        dates, differ from `stored_features`: a select of the (feature_name,
        launched_date) pairs that an incremental model stored. Such a model
        rebuilds in full then, since every period's launched flags may
        change. -#}
    {%- set differing_query -%}
        select count(*)
        from (
            select
                feature_name,
                launched_date
            from {{ ref('stg_events__features') }}
            where launched_date <= {{ as_of_date() }}
        ) as launched
        full outer join ({{ stored_features }}) as stored
            on
                launched.feature_name = stored.feature_name
                and launched.launched_date = stored.launched_date
        where launched.feature_name is null or stored.feature_name is null
    {%- endset -%}
    {{ return(run_query(differing_query).columns[0].values()[0] > 0) }}
{%- endmacro %}
