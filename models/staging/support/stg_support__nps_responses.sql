with

source as (
    select * from {{ raw_table('support', 'nps_responses') }}
),

final as (
    select
        cast(response_id as {{ dbt.type_string() }}) as response_id,
        cast(account_id as {{ dbt.type_string() }}) as account_id,
        cast(user_id as {{ dbt.type_string() }}) as user_id,
        cast(score as {{ dbt.type_int() }}) as nps_score,
        cast(responded_at as {{ dbt.type_timestamp() }}) as responded_at
    from source
)

select * from final
