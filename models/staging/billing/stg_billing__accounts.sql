with

source as (
    select * from {{ raw_table('billing', 'accounts') }}
),

final as (
    select
        cast(account_id as {{ dbt.type_string() }}) as account_id,
        cast(account_name as {{ dbt.type_string() }}) as account_name,
        cast(industry as {{ dbt.type_string() }}) as industry,
        cast(region as {{ dbt.type_string() }}) as region,
        cast(
            acquisition_channel as {{ dbt.type_string() }}
        ) as acquisition_channel,
        cast(created_at as {{ dbt.type_timestamp() }}) as created_at
    from source
)

select * from final
