{#- iso_week_start and the ISO calendar macros on every engine: dates whose
    ISO week, year and weeks per year are known (53-week years 2015, 2020
    and 2026; a week that starts in the year before, one that belongs to the
    year after, a leap day). Returns the cases that differ. -#}
{{ config(tags=['code_test']) }}

with

cases as (
    select
        cast('2021-01-03' as date) as any_date,
        cast('2020-12-28' as date) as expected_week_start_date,
        2020 as expected_iso_year,
        53 as expected_iso_week,
        53 as expected_weeks_in_iso_year
    union all
    select
        cast('2021-01-04' as date) as any_date,
        cast('2021-01-04' as date) as expected_week_start_date,
        2021 as expected_iso_year,
        1 as expected_iso_week,
        52 as expected_weeks_in_iso_year
    union all
    select
        cast('2024-12-31' as date) as any_date,
        cast('2024-12-30' as date) as expected_week_start_date,
        2025 as expected_iso_year,
        1 as expected_iso_week,
        52 as expected_weeks_in_iso_year
    union all
    select
        cast('2026-06-30' as date) as any_date,
        cast('2026-06-29' as date) as expected_week_start_date,
        2026 as expected_iso_year,
        27 as expected_iso_week,
        53 as expected_weeks_in_iso_year
    union all
    select
        cast('2016-01-01' as date) as any_date,
        cast('2015-12-28' as date) as expected_week_start_date,
        2015 as expected_iso_year,
        53 as expected_iso_week,
        53 as expected_weeks_in_iso_year
    union all
    select
        cast('2020-02-29' as date) as any_date,
        cast('2020-02-24' as date) as expected_week_start_date,
        2020 as expected_iso_year,
        9 as expected_iso_week,
        53 as expected_weeks_in_iso_year
),

weeks as (
    select
        cases.*,
        {{ iso_week_start('any_date') }} as iso_week_start_date
    from cases
),

final as (
    select
        weeks.*,
        {{ iso_year('iso_week_start_date') }} as iso_year,
        {{ iso_week_of_year('iso_week_start_date') }} as iso_week,
        {{ iso_weeks_in_year('iso_week_start_date') }} as weeks_in_iso_year
    from weeks
)

select * from final
where
    not coalesce(
        iso_week_start_date = expected_week_start_date
        and iso_year = expected_iso_year
        and iso_week = expected_iso_week
        and weeks_in_iso_year = expected_weeks_in_iso_year,
        false
    )
