{#- Every active user week part (fct_user_activity_week_parts) times every
    feature launched by as_of_date: whether the user used the feature in
    that part and whether the feature was launched by the user's last
    active day of the part. The inputs of feature_adoption_rate, which must
    group by feature_name: each active user appears once per feature, so
    the denominator (active users) exists for every feature. Week parts, not
    days, keep the distinct counts exact at week and month grain with about
    a third of the rows. Incremental like fct_user_activity_week_parts (see
    macro event_mart_rebuild_from); rebuilt in full when the features
    launched by as_of_date, or their launch dates, differ from the stored
    ones. -#}
{%- set rebuild_from = event_mart_rebuild_from(
    ref('fct_user_activity_week_parts'), 'week_part_start_date',
    'last_received_at', 'week_part_start_date',
) %}
{%- if rebuild_from %}
    {%- set stored_features -%}
        select distinct
            feature_name,
            feature_launched_date as launched_date
        from {{ this }}
    {%- endset -%}
    {%- if launched_features_differ(stored_features) -%}
        {%- set rebuild_from = none -%}
    {%- endif -%}
{%- endif %}
{{ config(
    materialized=incremental_materialization(),
    unique_key='week_part_start_date',
    incremental_strategy='delete+insert',
    on_schema_change='fail',
    pre_hook="{{ delete_rows_unknown_as_of(
        ['last_received_at', 'week_part_start_date']
    ) }}",
) }}

with

user_week_parts as (
    select * from {{ ref('fct_user_activity_week_parts') }}
    where {{ in_rebuild_window('week_part_start_date', rebuild_from, true) }}
),

features as (
    select
        feature_name,
        launched_date
    from {{ ref('stg_events__features') }}
    where launched_date <= {{ as_of_date() }}
),

feature_use_days as (
    select * from {{ ref('int_feature_uses_aggregated_to_user_days') }}
    where {{ in_rebuild_window('activity_date', rebuild_from, true) }}
),

feature_uses as (
    select distinct
        user_id,
        account_id,
        feature_name,
        {{ week_part_start('activity_date') }} as week_part_start_date
    from feature_use_days
),

final as (
    select
        user_week_parts.user_week_part_id,
        features.feature_name,
        user_week_parts.account_month_id,
        user_week_parts.user_id,
        feature_uses.user_id is not null as has_used_feature,
        features.launched_date <= user_week_parts.last_activity_date
            as is_feature_launched,
        features.launched_date as feature_launched_date,
        user_week_parts.week_part_start_date,
        user_week_parts.last_received_at
    from user_week_parts
    cross join features
    left join feature_uses
        on
            user_week_parts.user_id = feature_uses.user_id
            and user_week_parts.account_id = feature_uses.account_id
            and user_week_parts.week_part_start_date
            = feature_uses.week_part_start_date
            and features.feature_name = feature_uses.feature_name
)

select * from final
