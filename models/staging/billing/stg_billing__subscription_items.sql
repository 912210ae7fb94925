with

source as (
    select * from {{ raw_table('billing', 'subscription_items') }}
),

final as (
    select
        cast(
            subscription_item_id as {{ dbt.type_string() }}
        ) as subscription_item_id,
        cast(subscription_id as {{ dbt.type_string() }}) as subscription_id,
        cast(account_id as {{ dbt.type_string() }}) as account_id,
        cast(plan_id as {{ dbt.type_string() }}) as plan_id,
        cast(seats as {{ dbt.type_int() }}) as seats,
        cast(discount_pct as {{ dbt.type_numeric() }}) as discount_pct,
        cast(valid_from as date) as valid_from_date,
        cast(valid_to as date) as valid_to_date
    from source
)

select * from final
