with

source as (
    select * from {{ raw_table('billing', 'fx_rates') }}
),

final as (
    select
        cast(currency as {{ dbt.type_string() }}) as currency_code,
        cast(usd_rate as {{ dbt.type_numeric() }}) as usd_rate
    from source
)

select * from final
