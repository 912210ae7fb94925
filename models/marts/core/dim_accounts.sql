with

accounts as (
    select * from {{ ref('stg_billing__accounts') }}
),

account_months as (
    select * from {{ ref('int_account_months_priced') }}
),

paying_months as (
    select
        account_id,
        min(month_start_date) as first_paying_month_start_date,
        max(month_start_date) as last_paying_month_start_date
    from account_months
    where is_paying
    group by 1
),

final as (
    select
        accounts.account_id,
        accounts.account_name,
        accounts.industry,
        accounts.region,
        accounts.acquisition_channel,
        paying_months.account_id is not null as has_ever_paid,
        cast(accounts.created_at as date) as created_date,
        paying_months.first_paying_month_start_date,
        paying_months.last_paying_month_start_date,
        accounts.created_at
    from accounts
    left join paying_months
        on accounts.account_id = paying_months.account_id
    where {{ known_as_of('accounts.created_at') }}
)

select * from final
