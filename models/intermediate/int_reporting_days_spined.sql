{#- One row per day from the Monday of the ISO week that contains the first
    day of the month of the earliest billing or support record known as of
    as_of_date, through as_of_date, so that the first month and the first
    ISO week are whole. Rows come from a generated integer series (up to
    100,000 days, ~270 years). -#}
with

accounts as (
    select created_at from {{ ref('stg_billing__accounts') }}
),

subscription_items as (
    select valid_from_date from {{ ref('stg_billing__subscription_items') }}
),

invoices as (
    select
        service_period_start_date,
        issued_at
    from {{ ref('stg_billing__invoices') }}
),

tickets as (
    select created_at from {{ ref('stg_support__tickets') }}
),

incidents as (
    select started_at from {{ ref('stg_support__incidents') }}
),

record_dates as (
    select cast(created_at as date) as record_date
    from accounts
    where {{ known_as_of('created_at') }}
    union all
    select valid_from_date as record_date
    from subscription_items
    where valid_from_date <= {{ as_of_date() }}
    union all
    select service_period_start_date as record_date
    from invoices
    where {{ known_as_of('issued_at') }}
    union all
    select cast(created_at as date) as record_date
    from tickets
    where {{ known_as_of('created_at') }}
    union all
    select cast(started_at as date) as record_date
    from incidents
    where {{ known_as_of('started_at') }}
),

first_months as (
    select
        cast(
            {{ dbt.date_trunc('month', 'min(record_date)') }} as date
        ) as first_month_start_date
    from record_dates
),

bounds as (
    select
        {{ iso_week_start('first_month_start_date') }} as first_date,
        {{ as_of_date() }} as last_date
    from first_months
),

integers as (
    {{ generate_integers(5) }}
),

day_offsets as (
    select integer_value as day_offset from integers
),

candidate_days as (
    select
        bounds.last_date,
        cast(
            {{ dbt.dateadd('day', 'day_offset', 'first_date') }}
            as date
        ) as date_day
    from bounds
    cross join day_offsets
),

days as (
    select
        date_day,
        {{ iso_week_start('date_day') }} as iso_week_start_date
    from candidate_days
    where date_day <= last_date
),

final as (
    select
        date_day,
        cast({{ dbt.date_trunc('month', 'date_day') }} as date)
            as month_start_date,
        iso_week_start_date,
        {{ iso_year('iso_week_start_date') }} as iso_year,
        {{ iso_week_of_year('iso_week_start_date') }} as iso_week,
        {{ iso_weeks_in_year('iso_week_start_date') }} as weeks_in_iso_year
    from days
)

select * from final
