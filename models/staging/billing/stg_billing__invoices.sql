with

source as (
    select * from {{ raw_table('billing', 'invoices') }}
),

final as (
    select
        cast(invoice_id as {{ dbt.type_string() }}) as invoice_id,
        cast(account_id as {{ dbt.type_string() }}) as account_id,
        cast(subscription_id as {{ dbt.type_string() }}) as subscription_id,
        cast(invoice_type as {{ dbt.type_string() }}) as invoice_type,
        cast(status as {{ dbt.type_string() }}) as invoice_status,
        cast(currency as {{ dbt.type_string() }}) as currency_code,
        cast(amount as {{ dbt.type_numeric() }}) as amount_local,
        cast(service_period_start as date) as service_period_start_date,
        cast(service_period_end as date) as service_period_end_date,
        cast(issued_at as {{ dbt.type_timestamp() }}) as issued_at
    from source
)

select * from final
