with

source as (
    select * from {{ raw_table('support', 'incidents') }}
),

final as (
    select
        cast(incident_id as {{ dbt.type_string() }}) as incident_id,
        cast(severity as {{ dbt.type_string() }}) as incident_severity,
        cast(is_outage as {{ dbt.type_boolean() }}) as is_outage,
        cast(started_at as {{ dbt.type_timestamp() }}) as started_at,
        cast(resolved_at as {{ dbt.type_timestamp() }}) as resolved_at
    from source
)

select * from final
