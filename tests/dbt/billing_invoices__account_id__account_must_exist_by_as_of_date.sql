{#- An invoice issued by as_of_date must belong to an account created by
    then: otherwise its revenue would have no account-month to land in. -#}
with

invoices as (
    select * from {{ ref('stg_billing__invoices') }}
),

accounts as (
    select * from {{ ref('stg_billing__accounts') }}
),

final as (
    select
        invoices.invoice_id,
        invoices.account_id,
        invoices.issued_at,
        accounts.created_at
    from invoices
    inner join accounts
        on invoices.account_id = accounts.account_id
    where
        {{ known_as_of('invoices.issued_at') }}
        and not {{ known_as_of('accounts.created_at') }}
)

select * from final
