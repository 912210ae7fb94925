{#- Exact pre-aggregated answers of the four feature-adoption metrics
    (feature_adopters, feature_active_users, feature_launched,
    feature_adoption_rate) at week and month grain, for the groupings the
    dashboards, the saved query, the driver tree and the benchmark ask:
    none, one segment dimension, or the feature. The semantic layer answers
    those requests from a few thousand rows instead of counting distinct
    users over every user week part times every feature (see README,
    "Rollups"); it plans any other request with MetricFlow.

    Active users and the last active day of a group come from the user week
    parts, adopters from the week parts with a use of the feature; features
    are crossed with aggregated groups only. Columns are named after the
    semantic layer's group-by items and metrics, as the layer returns them.
    Grouping on `union all` then `group by` merges the two sides of a group
    even when a segment value is NULL, where a join would not.

    Incremental like the event marts it reads (see macro
    event_mart_rebuild_from): a run rebuilds the weeks and months from the
    ones that hold the first day a new or late delivery touches, and
    everything when the features launched by as_of_date, or their launch
    dates, differ from the stored ones. Each group stores the latest
    delivery behind it (last_received_at). -#}
{%- set rebuild_from = event_mart_rebuild_from(
    ref('fct_user_activity_week_parts'), 'week_part_start_date',
    'last_received_at', 'metric_time',
) %}
{%- if rebuild_from %}
    {%- set stored_features -%}
        select distinct
            feature_usage__feature_name as feature_name,
            feature_launched_date as launched_date
        from {{ this }}
        where feature_usage__feature_name is not null
    {%- endset -%}
    {%- if launched_features_differ(stored_features) -%}
        {%- set rebuild_from = none -%}
    {%- endif -%}
{%- endif %}
{%- if rebuild_from %}
    {%- set week_from = iso_week_start(rebuild_from) %}
    {%- set month_from = 'cast(' ~ dbt.date_trunc('month', rebuild_from)
        ~ ' as date)' %}
    {%- set input_filter = 'week_part_start_date >= least('
        ~ week_from ~ ', ' ~ month_from ~ ')' %}
    {%- set output_filter = "(time_grain = 'week' and metric_time >= "
        ~ week_from ~ ") or (time_grain = 'month' and metric_time >= "
        ~ month_from ~ ')' %}
{%- else %}
    {%- set input_filter = 'true' %}
    {%- set output_filter = 'true' %}
{%- endif %}
{{ config(
    materialized=incremental_materialization(),
    unique_key=['time_grain', 'metric_time'],
    incremental_strategy='delete+insert',
    on_schema_change='fail',
    pre_hook="{{ delete_rows_unknown_as_of(['last_received_at']) }}",
) }}
{%- set grains = ['week', 'month'] %}
{%- set segment_types = {
    'plan_tier': dbt.type_string(),
    'industry': dbt.type_string(),
    'account_age_band': dbt.type_string(),
} %}
{%- set segments = segment_types.keys() | list %}
{%- set groupings = [] %}
{%- for grain in grains %}
    {%- for segment in [none] + segments %}
        {%- do groupings.append((grain, segment)) %}
    {%- endfor %}
{%- endfor %}
{#- The group key's parts; NULL ones (items not grouped by, NULL segment
    values) as '-'. #}
{%- set key_parts = ['time_grain', 'segment_grouping', 'metric_time'] %}
{%- for column in ['feature_name'] + segments %}
    {%- do key_parts.append(
        'coalesce(cast(' ~ column ~ ' as ' ~ dbt.type_string() ~ "), '-')"
    ) %}
{%- endfor %}

with

user_week_parts as (
    select
        user_week_part_id,
        account_month_id,
        user_id,
        last_activity_date,
        week_part_start_date,
        last_received_at
    from {{ ref('fct_user_activity_week_parts') }}
    where {{ input_filter }}
),

feature_adoption_week_parts as (
    select
        user_week_part_id,
        user_id,
        feature_name,
        week_part_start_date
    from {{ ref('fct_feature_adoption_week_parts') }}
    where has_used_feature and {{ input_filter }}
),

account_months as (
    select
        account_month_id,
        plan_tier,
        industry,
        account_age_band
    from {{ ref('fct_account_months') }}
),

features as (
    select
        feature_name,
        launched_date
    from {{ ref('stg_events__features') }}
    where launched_date <= {{ as_of_date() }}
),

first_launch as (
    select min(launched_date) as launched_date
    from features
),

week_parts_with_a_use as (
    select distinct user_week_part_id
    from feature_adoption_week_parts
),

segmented_week_parts as (
    select
        user_week_parts.user_id,
        account_months.plan_tier,
        account_months.industry,
        account_months.account_age_band,
        week_parts_with_a_use.user_week_part_id is not null as has_used_feature,
        user_week_parts.last_activity_date,
        user_week_parts.last_received_at,
        {%- for grain in grains %}
            cast(
                {{ dbt.date_trunc(grain, 'week_part_start_date') }} as date
            ) as {{ grain }}_start_date
            {%- if not loop.last %},{% endif %}
        {%- endfor %}
    from user_week_parts
    left join account_months
        on user_week_parts.account_month_id = account_months.account_month_id
    left join week_parts_with_a_use
        on
            user_week_parts.user_week_part_id
            = week_parts_with_a_use.user_week_part_id
),

active_groups as (
    {#- Active users, adopters of any feature and the last active day for
        every grouping without a feature. #}
    {%- for grain, segment in groupings %}
        select
            {{ rollup_group_columns(
                grain, segment, segment_types, 'account_month__',
            ) }}
            cast(null as {{ dbt.type_string() }}) as feature_name,
            count(distinct user_id) as active_user_count,
            count(distinct case when has_used_feature then user_id end)
                as adopter_count,
            max(last_activity_date) as last_activity_date,
            max(last_received_at) as last_received_at
        from segmented_week_parts
        group by 1, 2, 3, 4, 5, 6
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}
),

feature_uses as (
    select
        user_id,
        feature_name,
        {%- for grain in grains %}
            cast(
                {{ dbt.date_trunc(grain, 'week_part_start_date') }} as date
            ) as {{ grain }}_start_date
            {%- if not loop.last %},{% endif %}
        {%- endfor %}
    from feature_adoption_week_parts
),

feature_adopter_groups as (
    {#- Adopters of each feature, for the feature grouping (no segment). #}
    {%- for grain in grains %}
        select
            {{ rollup_group_columns(grain, none, segment_types, '') }}
            feature_name,
            count(distinct user_id) as adopter_count
        from feature_uses
        group by 1, 2, 3, 4, 5, 6, 7
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}
),

group_sides as (
    select
        active_groups.time_grain,
        active_groups.segment_grouping,
        active_groups.metric_time,
        {%- for column in segments %}
            active_groups.{{ column }},
        {%- endfor %}
        features.feature_name,
        active_groups.active_user_count,
        cast(null as {{ dbt.type_bigint() }}) as adopter_count,
        case
            when features.launched_date <= active_groups.last_activity_date
                then 1
            else 0
        end as launched_flag,
        features.launched_date as feature_launched_date,
        active_groups.last_received_at
    from active_groups
    cross join features
    where active_groups.segment_grouping = ''
    union all
    select
        active_groups.time_grain,
        active_groups.segment_grouping,
        active_groups.metric_time,
        {%- for column in segments %}
            active_groups.{{ column }},
        {%- endfor %}
        active_groups.feature_name,
        active_groups.active_user_count,
        active_groups.adopter_count,
        case
            when first_launch.launched_date <= active_groups.last_activity_date
                then 1
            else 0
        end as launched_flag,
        cast(null as date) as feature_launched_date,
        active_groups.last_received_at
    from active_groups
    cross join first_launch
    where first_launch.launched_date is not null
    union all
    select
        time_grain,
        segment_grouping,
        metric_time,
        {%- for column in segments %}
            {{ column }},
        {%- endfor %}
        feature_name,
        cast(null as {{ dbt.type_bigint() }}) as active_user_count,
        adopter_count,
        cast(null as {{ dbt.type_int() }}) as launched_flag,
        cast(null as date) as feature_launched_date,
        cast(null as {{ dbt.type_timestamp() }}) as last_received_at
    from feature_adopter_groups
),

groups_by_feature as (
    select
        time_grain,
        segment_grouping,
        metric_time,
        {%- for column in segments %}
            {{ column }},
        {%- endfor %}
        feature_name,
        max(active_user_count) as feature_active_users,
        coalesce(max(adopter_count), 0) as feature_adopters,
        max(launched_flag) as feature_launched,
        max(feature_launched_date) as feature_launched_date,
        max(last_received_at) as last_received_at
    from group_sides
    group by 1, 2, 3, 4, 5, 6, 7
),

final as (
    select
        {{ surrogate_key(key_parts) }} as rollup_group_id,
        time_grain,
        case
            when feature_name is null then segment_grouping
            when segment_grouping = '' then 'feature_usage__feature_name'
            else {{ dbt.concat([
                "'feature_usage__feature_name,'", 'segment_grouping',
            ]) }}
        end as grouping_name,
        feature_name as feature_usage__feature_name,
        {%- for column in segments %}
            {{ column }} as account_month__{{ column }},
        {%- endfor %}
        feature_adopters,
        feature_active_users,
        feature_launched,
        case
            when feature_launched = 1
                then
                    cast(feature_adopters as {{ type_double() }})
                    / nullif(feature_active_users, 0)
        end as feature_adoption_rate,
        metric_time,
        feature_launched_date,
        last_received_at
    from groups_by_feature
    where {{ output_filter }}
)

select * from final
