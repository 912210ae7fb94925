{#- One row per ISO week of the reporting days, with its ISO calendar: the
    week spine of the weekly revenue models. -#}
with

reporting_days as (
    select * from {{ ref('int_reporting_days_spined') }}
),

final as (
    select distinct
        iso_week_start_date,
        iso_year,
        iso_week,
        weeks_in_iso_year
    from reporting_days
)

select * from final
