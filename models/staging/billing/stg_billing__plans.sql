with

source as (
    select * from {{ raw_table('billing', 'plans') }}
),

final as (
    select
        cast(plan_id as {{ dbt.type_string() }}) as plan_id,
        cast(plan_name as {{ dbt.type_string() }}) as plan_name,
        cast(plan_tier as {{ dbt.type_string() }}) as plan_tier,
        cast(billing_interval as {{ dbt.type_string() }}) as billing_interval,
        cast(currency as {{ dbt.type_string() }}) as currency_code,
        cast(
            price_per_seat as {{ dbt.type_numeric() }}
        ) as price_per_seat_local
    from source
)

select * from final
