with

source as (
    select * from {{ raw_table('support', 'tickets') }}
),

final as (
    select
        cast(ticket_id as {{ dbt.type_string() }}) as ticket_id,
        cast(account_id as {{ dbt.type_string() }}) as account_id,
        cast(priority as {{ dbt.type_string() }}) as ticket_priority,
        cast(channel as {{ dbt.type_string() }}) as ticket_channel,
        cast(csat_score as {{ dbt.type_int() }}) as csat_score,
        cast(is_escalated as {{ dbt.type_boolean() }}) as is_escalated,
        cast(created_at as {{ dbt.type_timestamp() }}) as created_at,
        cast(
            first_response_at as {{ dbt.type_timestamp() }}
        ) as first_responded_at,
        cast(resolved_at as {{ dbt.type_timestamp() }}) as resolved_at
    from source
)

select * from final
