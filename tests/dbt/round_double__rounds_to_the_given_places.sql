{#- round_double() rounds a double to decimal places on every engine, so that
    float noise cannot break a tie (0.1 + 0.2 equals 0.3 at 6 places). -#}
{{ config(tags=['code_test']) }}

with

cases as (
    select
        'float noise' as case_name,
        {{ round_double('cast(0.1 as ' ~ type_double() ~ ')
            + cast(0.2 as ' ~ type_double() ~ ')', 6) }} as actual,
        cast(0.3 as {{ type_double() }}) as expected
    union all
    select
        'rounds up' as case_name,
        {{ round_double('cast(1.23456789 as ' ~ type_double() ~ ')', 6) }}
            as actual,
        cast(1.234568 as {{ type_double() }}) as expected
    union all
    select
        'negative' as case_name,
        {{ round_double('cast(-2.71828182 as ' ~ type_double() ~ ')', 6) }}
            as actual,
        cast(-2.718282 as {{ type_double() }}) as expected
    union all
    select
        'large' as case_name,
        {{ round_double('cast(1234567.8912346 as ' ~ type_double() ~ ')', 6) }}
            as actual,
        cast(1234567.891235 as {{ type_double() }}) as expected
    union all
    select
        'no places' as case_name,
        {{ round_double('cast(2.4 as ' ~ type_double() ~ ')', 0) }} as actual,
        cast(2 as {{ type_double() }}) as expected
),

final as (
    select *
    from cases
    where actual is null or actual != expected
)

select * from final
