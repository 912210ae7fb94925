{#- Active users per week part: the days of one ISO week that fall in one
    calendar month (a week across a month boundary has two parts). Counting
    distinct users over week parts is exact at week grain and at month
    grain and coarser, and reads about a third of the rows of the user-days
    (fct_daily_user_activity). Keyed to the account-month of the part.
    Stored in account-month order because the semantic-layer queries join
    on account_month_id and group by period, which is cheaper on rows
    stored in that order (see README, Benchmarks). Incremental: a run rebuilds the week parts from
    the one that holds the earliest day touched by a new or late delivery
    (see macro event_mart_rebuild_from). -#}
{%- set rebuild_from = event_mart_rebuild_from(
    ref('fct_daily_user_activity'), 'activity_date', 'last_received_at',
    'last_activity_date',
) %}
{{ config(
    materialized=incremental_materialization(),
    unique_key='week_part_start_date',
    incremental_strategy='delete+insert',
    on_schema_change='fail',
    pre_hook="{{ delete_rows_unknown_as_of(
        ['last_received_at', 'last_activity_date']
    ) }}",
) }}

with

user_days as (
    select
        user_id,
        account_id,
        meaningful_event_count,
        activity_date,
        last_received_at,
        {{ week_part_start('activity_date') }} as week_part_start_date,
        cast({{ dbt.date_trunc('month', 'activity_date') }} as date)
            as month_start_date
    from {{ ref('fct_daily_user_activity') }}
    where {{ in_rebuild_window('activity_date', rebuild_from, true) }}
),

user_week_parts as (
    select
        user_id,
        account_id,
        month_start_date,
        week_part_start_date,
        count(*) as active_day_count,
        sum(meaningful_event_count) as meaningful_event_count,
        min(activity_date) as first_activity_date,
        max(activity_date) as last_activity_date,
        max(last_received_at) as last_received_at
    from user_days
    group by 1, 2, 3, 4
),

final as (
    select
        {{ surrogate_key(['user_id', 'account_id', 'week_part_start_date']) }}
            as user_week_part_id,
        {{ account_month_id('account_id', 'month_start_date') }}
            as account_month_id,
        user_id,
        account_id,
        active_day_count,
        meaningful_event_count,
        first_activity_date,
        last_activity_date,
        week_part_start_date,
        last_received_at
    from user_week_parts
)

select * from final
order by 2, 9  -- account_month_id, week_part_start_date
