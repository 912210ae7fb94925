with

source as (
    select * from {{ raw_table('events', 'api_requests') }}
),

final as (
    select
        cast(request_id as {{ dbt.type_string() }}) as request_id,
        cast(account_id as {{ dbt.type_string() }}) as account_id,
        cast(endpoint as {{ dbt.type_string() }}) as endpoint,
        cast(http_status as {{ dbt.type_int() }}) as http_status_code,
        cast(latency_ms as {{ dbt.type_int() }}) as latency_ms,
        cast(occurred_at as {{ dbt.type_timestamp() }}) as occurred_at
    from source
)

select * from final
