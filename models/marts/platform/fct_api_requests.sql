{#- Public API requests by the end of as_of_date, keyed to the
    account-month of the request date; one row per request, so that
    latency percentiles are exact. Incremental on occurred_at with a
    lookback (var event_lookback_days), keyed on request_id. -#}
{{ config(
    materialized=incremental_materialization(),
    unique_key='request_id',
    incremental_strategy='delete+insert',
    on_schema_change='fail',
    pre_hook="{{ delete_rows_unknown_as_of(['occurred_at']) }}",
) }}

with

requests as (
    select * from {{ ref('stg_events__api_requests') }}
    where
        {{ known_as_of('occurred_at') }}
        and {{ incremental_watermark_filter('occurred_at') }}
),

final as (
    select
        request_id,
        {{ account_month_id(
            'account_id', dbt.date_trunc('month', 'occurred_at')
        ) }} as account_month_id,
        account_id,
        endpoint,
        http_status_code,
        latency_ms,
        http_status_code >= 500 as is_server_error,
        http_status_code = 429 as is_throttled,
        occurred_at
    from requests
)

select * from final
