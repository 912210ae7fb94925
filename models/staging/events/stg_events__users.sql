with

source as (
    select * from {{ raw_table('events', 'users') }}
),

final as (
    select
        cast(user_id as {{ dbt.type_string() }}) as user_id,
        cast(account_id as {{ dbt.type_string() }}) as account_id,
        cast(role as {{ dbt.type_string() }}) as user_role,
        cast(created_at as {{ dbt.type_timestamp() }}) as created_at
    from source
)

select * from final
