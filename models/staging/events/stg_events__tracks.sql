{#- The source may deliver one event twice: each event_id is kept once, as
    its earliest delivery (earliest received_at). A table, not a view like
    the other staging models: the de-duplication is a window over the whole
    event log, and a view would repeat it in every test and every model that
    reads it (about 10 times per build; see README, Benchmarks). -#}
{{ config(materialized='table') }}

with

source as (
    select * from {{ raw_table('events', 'tracks') }}
),

renamed as (
    select
        cast(event_id as {{ dbt.type_string() }}) as event_id,
        cast(account_id as {{ dbt.type_string() }}) as account_id,
        cast(user_id as {{ dbt.type_string() }}) as user_id,
        cast(event_name as {{ dbt.type_string() }}) as event_name,
        cast(feature_name as {{ dbt.type_string() }}) as feature_name,
        cast(onboarding_step as {{ dbt.type_int() }}) as onboarding_step,
        cast(occurred_at as {{ dbt.type_timestamp() }}) as occurred_at,
        cast(received_at as {{ dbt.type_timestamp() }}) as received_at
    from source
),

deliveries_ranked as (
    select
        *,
        row_number() over (
            partition by event_id
            order by received_at, occurred_at, account_id, user_id
        ) as delivery_number
    from renamed
),

final as (
    select
        event_id,
        account_id,
        user_id,
        event_name,
        feature_name,
        onboarding_step,
        event_name not in ('page_viewed', 'logged_in') as is_meaningful,
        occurred_at,
        received_at
    from deliveries_ranked
    where delivery_number = 1
)

select * from final
