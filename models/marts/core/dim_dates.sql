{#- MetricFlow's time spine: one row per day of the reporting range
    (declared with `time_spine:` in _core__models.yml), with its ISO
    calendar. -#}
with

reporting_days as (
    select * from {{ ref('int_reporting_days_spined') }}
),

final as (
    select
        date_day,
        iso_year,
        iso_week,
        weeks_in_iso_year,
        date_day = {{ as_of_date() }} as is_as_of_date,
        month_start_date,
        iso_week_start_date
    from reporting_days
)

select * from final
