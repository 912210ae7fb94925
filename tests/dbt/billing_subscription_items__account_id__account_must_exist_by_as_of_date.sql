{#- An item that starts by as_of_date must belong to an account created by
    then: otherwise its MRR would have no account-month to land in. -#}
with

subscription_items as (
    select * from {{ ref('stg_billing__subscription_items') }}
),

accounts as (
    select * from {{ ref('stg_billing__accounts') }}
),

final as (
    select
        subscription_items.subscription_item_id,
        subscription_items.account_id,
        subscription_items.valid_from_date,
        accounts.created_at
    from subscription_items
    inner join accounts
        on subscription_items.account_id = accounts.account_id
    where
        subscription_items.valid_from_date <= {{ as_of_date() }}
        and not {{ known_as_of('accounts.created_at') }}
)

select * from final
