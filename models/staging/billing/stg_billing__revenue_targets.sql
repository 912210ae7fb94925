with

source as (
    select * from {{ raw_table('billing', 'revenue_targets') }}
),

final as (
    select
        cast(fiscal_year as {{ dbt.type_int() }}) as iso_year,
        cast(target_arr as {{ dbt.type_numeric() }}) as target_arr_usd
    from source
)

select * from final
