with

source as (
    select * from {{ raw_table('events', 'features') }}
),

final as (
    select
        cast(feature_name as {{ dbt.type_string() }}) as feature_name,
        cast(is_core as {{ dbt.type_boolean() }}) as is_core,
        cast(launched_at as date) as launched_date
    from source
)

select * from final
