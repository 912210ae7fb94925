{#- add_days on every engine: dates across a month end, a leap day and a
    year end, forwards and backwards. Returns the cases that differ. -#}
{{ config(tags=['code_test']) }}

with

cases as (
    select
        cast('2024-02-28' as date) as start_date,
        1 as day_count,
        cast('2024-02-29' as date) as expected_date
    union all
    select
        cast('2024-03-01' as date) as start_date,
        -1 as day_count,
        cast('2024-02-29' as date) as expected_date
    union all
    select
        cast('2023-12-31' as date) as start_date,
        1 as day_count,
        cast('2024-01-01' as date) as expected_date
    union all
    select
        cast('2025-01-01' as date) as start_date,
        366 as day_count,
        cast('2026-01-02' as date) as expected_date
),

final as (
    select
        start_date,
        day_count,
        expected_date,
        {{ add_days('start_date', 'day_count') }} as actual_date
    from cases
)

select * from final
where actual_date != expected_date or actual_date is null
