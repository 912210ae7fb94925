{% macro incremental_watermark_filter(timestamp_column) %}
    {#- In an incremental run, keep the source rows whose timestamp is later
        than the target's latest one minus var event_lookback_days (default
        3): late loads within the lookback are picked up; unique_key makes
        reloading a row idempotent. In a full refresh: no filter. -#}
    {%- if is_incremental() -%}
        (
            not exists (select 1 from {{ this }})
            or {{ timestamp_column }} > (
                select
                    {{ dbt.dateadd(
                        'day',
                        -1 * var('event_lookback_days', 3),
                        'max(' ~ timestamp_column ~ ')',
                    ) }}
                from {{ this }}
            )
        )
    {%- else -%}
        true
    {%- endif -%}
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
