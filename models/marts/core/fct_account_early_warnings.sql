{#- Early warnings: one row per account paying at as_of_date (MRR of the
    partial month's snapshot > 0), keyed to the account-month of
    as_of_date's month (its segments), with five churn-risk signals, each a
    flag next to the values it compares, and the number of flags. The
    latest complete month L is the month before as_of_date's month; the
    month before it is L-1. See README, Decisions, "Early warnings". -#}
{%- set as_of_month_start = (
    "cast(" ~ dbt.date_trunc('month', as_of_date()) ~ " as date)"
) -%}
{%- set latest_month_start = (
    "cast(" ~ dbt.dateadd('month', -1, as_of_month_start) ~ " as date)"
) -%}
{%- set previous_month_start = (
    "cast(" ~ dbt.dateadd('month', -2, as_of_month_start) ~ " as date)"
) -%}

with

account_months as (
    select
        account_month_id,
        account_id,
        mrr_usd
    from {{ ref('fct_account_months') }}
    where is_partial_month and is_paying
),

accounts as (
    select
        account_id,
        created_date
    from {{ ref('dim_accounts') }}
),

features as (
    select
        feature_name,
        is_core,
        launched_date
    from {{ ref('stg_events__features') }}
),

feature_uses as (
    select
        account_id,
        feature_name,
        activity_date
    from {{ ref('int_feature_uses_aggregated_to_user_days') }}
),

account_month_activity as (
    select
        account_id,
        meaningful_event_count,
        previous_meaningful_event_count,
        is_contraction_signal,
        month_start_date
    from {{ ref('fct_account_month_activity') }}
),

tickets as (
    select
        account_id,
        csat_score,
        created_at
    from {{ ref('fct_tickets') }}
),

api_requests as (
    select
        account_id,
        latency_ms,
        is_server_error,
        occurred_at
    from {{ ref('fct_api_requests') }}
),

core_features as (
    select feature_name
    from features
    where is_core and launched_date <= {{ as_of_date() }}
),

-- distinct core features used in the 91 days as_of_date - 90 ... as_of_date
core_features_used as (
    select
        feature_uses.account_id,
        count(distinct feature_uses.feature_name) as used_core_feature_count
    from feature_uses
    inner join core_features
        on feature_uses.feature_name = core_features.feature_name
    where
        feature_uses.activity_date >= {{ add_days(as_of_date(), -90) }}
        and feature_uses.activity_date <= {{ as_of_date() }}
    group by 1
),

latest_month_activity as (
    select
        account_id,
        meaningful_event_count,
        previous_meaningful_event_count,
        is_contraction_signal
    from account_month_activity
    where month_start_date = {{ latest_month_start }}
),

tickets_by_month as (
    select
        account_id,
        csat_score,
        cast({{ dbt.date_trunc('month', 'created_at') }} as date)
            as created_month_start_date
    from tickets
),

ticket_stats as (
    select
        account_id,
        sum(
            case
                when created_month_start_date = {{ latest_month_start }}
                    then 1
                else 0
            end
        ) as latest_ticket_count,
        sum(
            case
                when created_month_start_date = {{ previous_month_start }}
                    then 1
                else 0
            end
        ) as previous_ticket_count,
        avg(
            case
                when created_month_start_date = {{ latest_month_start }}
                    then cast(csat_score as {{ type_double() }})
            end
        ) as latest_mean_csat_score,
        avg(
            case
                when created_month_start_date = {{ previous_month_start }}
                    then cast(csat_score as {{ type_double() }})
            end
        ) as previous_mean_csat_score
    from tickets_by_month
    where created_month_start_date >= {{ previous_month_start }}
    group by 1
),

api_stats as (
    select
        account_id,
        count(*) as latest_api_request_count,
        cast(
            {{ percentile_cont('latency_ms', 0.95) }} as {{ type_double() }}
        ) as latest_api_latency_p95_ms,
        cast(
            sum(case when is_server_error then 1 else 0 end)
            as {{ type_double() }}
        ) / count(*) as latest_api_error_rate
    from api_requests
    where
        occurred_at >= cast(
            {{ latest_month_start }} as {{ dbt.type_timestamp() }}
        )
        and occurred_at < cast(
            {{ as_of_month_start }} as {{ dbt.type_timestamp() }}
        )
    group by 1
),

signals as (
    select
        account_months.account_month_id,
        account_months.account_id,
        account_months.mrr_usd,
        coalesce(core_features_used.used_core_feature_count, 0)
            as used_core_feature_count_13w,
        coalesce(latest_month_activity.meaningful_event_count, 0)
            as latest_meaningful_event_count,
        coalesce(latest_month_activity.previous_meaningful_event_count, 0)
            as previous_meaningful_event_count,
        coalesce(ticket_stats.latest_ticket_count, 0) as latest_ticket_count,
        coalesce(ticket_stats.previous_ticket_count, 0)
            as previous_ticket_count,
        ticket_stats.latest_mean_csat_score,
        ticket_stats.previous_mean_csat_score,
        coalesce(api_stats.latest_api_request_count, 0)
            as latest_api_request_count,
        api_stats.latest_api_latency_p95_ms,
        api_stats.latest_api_error_rate,
        -- too young: fewer than 91 days of history behind the window
        accounts.created_date <= {{ add_days(as_of_date(), -91) }}
            as is_adoption_window_complete,
        coalesce(latest_month_activity.is_contraction_signal, false)
            as is_usage_drop,
        accounts.created_date
    from account_months
    inner join accounts
        on account_months.account_id = accounts.account_id
    left join core_features_used
        on account_months.account_id = core_features_used.account_id
    left join latest_month_activity
        on account_months.account_id = latest_month_activity.account_id
    left join ticket_stats
        on account_months.account_id = ticket_stats.account_id
    left join api_stats
        on account_months.account_id = api_stats.account_id
),

flagged as (
    select
        *,
        is_adoption_window_complete
        and used_core_feature_count_13w < 3 as is_low_adoption,
        latest_ticket_count > previous_ticket_count as is_tickets_rising,
        latest_mean_csat_score is not null
        and previous_mean_csat_score is not null
        and latest_mean_csat_score < previous_mean_csat_score
            as is_csat_falling,
        latest_api_request_count > 0
        and (
            latest_api_latency_p95_ms
            >= {{ var('early_warning_api_latency_p95_ms') }}
            or latest_api_error_rate
            >= {{ var('early_warning_api_error_rate') }}
        ) as is_api_guardrail_breach
    from signals
),

counted as (
    select
        *,
        cast(
            case when is_low_adoption then 1 else 0 end
            + case when is_tickets_rising then 1 else 0 end
            + case when is_usage_drop then 1 else 0 end
            + case when is_csat_falling then 1 else 0 end
            + case when is_api_guardrail_breach then 1 else 0 end
            as {{ dbt.type_int() }}
        ) as signal_count
    from flagged
),

final as (
    select
        account_id,
        account_month_id,
        mrr_usd,
        signal_count,
        used_core_feature_count_13w,
        latest_ticket_count,
        previous_ticket_count,
        latest_meaningful_event_count,
        previous_meaningful_event_count,
        latest_mean_csat_score,
        previous_mean_csat_score,
        latest_api_request_count,
        latest_api_latency_p95_ms,
        latest_api_error_rate,
        signal_count >= {{ var('early_warning_min_signals') }} as is_at_risk,
        is_low_adoption,
        is_tickets_rising,
        is_usage_drop,
        is_csat_falling,
        is_api_guardrail_breach,
        is_adoption_window_complete,
        created_date,
        {{ as_of_date() }} as as_of_date,
        {{ latest_month_start }} as latest_month_start_date
    from counted
)

select * from final
