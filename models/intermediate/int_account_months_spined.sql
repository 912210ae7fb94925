{#- One row per account known as of as_of_date and per month, from the
    account's first month (the earliest of its sign-up, its first
    subscription item and the service start of its first invoice) through
    the month of as_of_date. The MRR snapshot of a month is
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

invoices as (
    select
        account_id,
        service_period_start_date
    from {{ ref('stg_billing__invoices') }}
    where {{ known_as_of('issued_at') }}
),

reporting_days as (
    select
        date_day,
        month_start_date
    from {{ ref('int_reporting_days_spined') }}
),

months as (
    select
        month_start_date,
        max(date_day) as snapshot_date
    from reporting_days
    group by 1
),

billing_starts as (
    select
        account_id,
        valid_from_date as billing_start_date
    from subscription_items
    union all
    select
        account_id,
        service_period_start_date as billing_start_date
    from invoices
),

first_billing_starts as (
    select
        account_id,
        min(billing_start_date) as first_billing_start_date
    from billing_starts
    group by 1
),

account_first_months as (
    select
        accounts.account_id,
        cast(
            {{ dbt.date_trunc('month', 'accounts.created_at') }} as date
        ) as signup_month_start_date,
        cast(
            {{ dbt.date_trunc(
                'month', 'first_billing_starts.first_billing_start_date'
            ) }} as date
        ) as first_billing_month_start_date
    from accounts
    left join first_billing_starts
        on accounts.account_id = first_billing_starts.account_id
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
            or account_first_months.first_billing_month_start_date
            <= months.month_start_date
)

select * from final
