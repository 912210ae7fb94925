{#- One row per account known as of as_of_date and per month, from the
    account's first month (sign-up or first subscription item, whichever is
    earlier) through the month of as_of_date. The MRR snapshot of a month is
    taken on its last day, or on as_of_date for the month that contains it. -#}
with

accounts as (
    select
        account_id,
        created_at
    from {{ ref('stg_billing__accounts') }}
    where {{ known_as_of('created_at') }}
),

subscription_items as (
    select
        account_id,
        valid_from_date
    from {{ ref('stg_billing__subscription_items') }}
    where valid_from_date <= {{ as_of_date() }}
),

reporting_days as (
    select date_day from {{ ref('int_reporting_days') }}
),

months as (
    select
        cast({{ dbt.date_trunc('month', 'date_day') }} as date)
            as month_start_date,
        max(date_day) as snapshot_date
    from reporting_days
    group by 1
),

first_items as (
    select
        account_id,
        min(valid_from_date) as first_valid_from_date
    from subscription_items
    group by 1
),

account_first_months as (
    select
        accounts.account_id,
        cast(
            {{ dbt.date_trunc('month', 'accounts.created_at') }} as date
        ) as signup_month_start_date,
        cast(
            {{ dbt.date_trunc('month', 'first_items.first_valid_from_date') }}
            as date
        ) as first_item_month_start_date
    from accounts
    left join first_items
        on accounts.account_id = first_items.account_id
),

final as (
    select
        account_first_months.account_id,
        months.month_start_date,
        months.snapshot_date,
        account_first_months.signup_month_start_date,
        {{ dbt.datediff(
            'account_first_months.signup_month_start_date',
            'months.month_start_date',
            'month'
        ) }} as months_since_signup,
        months.snapshot_date = {{ as_of_date() }} as is_partial_month
    from account_first_months
    inner join months
        on
            account_first_months.signup_month_start_date
            <= months.month_start_date
            or account_first_months.first_item_month_start_date
            <= months.month_start_date
)

select * from final
