{#- MetricFlow's time spine: one row per day of the reporting range
    (declared with `time_spine:` in _core__models.yml). -#}
with

reporting_days as (
    select date_day from {{ ref('int_reporting_days') }}
),

final as (
    select
        date_day,
        cast({{ dbt.date_trunc('month', 'date_day') }} as date)
            as month_start_date,
        {{ iso_week_start('date_day') }} as iso_week_start_date,
        date_day = {{ as_of_date() }} as is_as_of_date
    from reporting_days
)

select * from final
