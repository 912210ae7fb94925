{#- 12-month retention inputs: one row per account and month m whose
    account was paying twelve months earlier, keyed to the account-month
    m-12 (start-of-window segment). -#}
with

account_months as (
    select * from {{ ref('int_account_months_priced') }}
),

base_months as (
    select
        account_id,
        month_start_date as base_month_start_date,
        mrr_usd as base_mrr_usd,
        cast(
            {{ dbt.dateadd('month', 12, 'month_start_date') }} as date
        ) as month_start_date
    from account_months
    where is_paying
),

final as (
    select
        {{ account_month_id(
            'account_months.account_id', 'account_months.month_start_date'
        ) }} as account_month_id,
        {{ account_month_id(
            'base_months.account_id', 'base_months.base_month_start_date'
        ) }} as base_account_month_id,
        account_months.account_id,
        base_months.base_mrr_usd,
        account_months.mrr_usd as current_mrr_usd,
        case
            when account_months.mrr_usd < base_months.base_mrr_usd
                then account_months.mrr_usd
            else base_months.base_mrr_usd
        end as gross_retained_mrr_usd,
        account_months.is_paying as is_retained,
        account_months.is_partial_month,
        account_months.month_start_date,
        base_months.base_month_start_date
    from base_months
    inner join account_months
        on
            base_months.account_id = account_months.account_id
            and base_months.month_start_date = account_months.month_start_date
)

select * from final
