{#- The source may deliver one event twice, but only as a re-delivery: the
    same content, a later received_at. A second delivery with another
    account, user, event, feature, onboarding step or occurrence time is a
    conflict that de-duplication would hide (stg_events__tracks keeps the
    earliest delivery). Every raw delivery is compared with the delivery
    kept for its event_id, also the one kept by an earlier incremental run.
    With var data_tests_since, only the deliveries received from that day on
    are compared (against every kept row), as the other event tests do. -#}
{%- set since = iso_date_var('data_tests_since') %}

with

tracks as (
    select * from {{ raw_table('events', 'tracks') }}
),

stg_events__tracks as (
    select * from {{ ref('stg_events__tracks') }}
),

deliveries as (
    select
        {{ events_tracks_columns() | indent(8) }}
    from tracks
    {%- if since is not none %}
        where cast(received_at as {{ dbt.type_timestamp() }}) >= {{ since }}
    {%- endif %}
),

final as (
    select
        deliveries.event_id,
        deliveries.account_id,
        stg_events__tracks.account_id as kept_account_id,
        deliveries.user_id,
        stg_events__tracks.user_id as kept_user_id,
        deliveries.event_name,
        stg_events__tracks.event_name as kept_event_name,
        deliveries.feature_name,
        stg_events__tracks.feature_name as kept_feature_name,
        deliveries.onboarding_step,
        stg_events__tracks.onboarding_step as kept_onboarding_step,
        deliveries.occurred_at,
        stg_events__tracks.occurred_at as kept_occurred_at,
        deliveries.received_at
    from deliveries
    inner join stg_events__tracks
        on deliveries.event_id = stg_events__tracks.event_id
    where
        deliveries.account_id
        is distinct from stg_events__tracks.account_id
        or deliveries.user_id is distinct from stg_events__tracks.user_id
        or deliveries.event_name
        is distinct from stg_events__tracks.event_name
        or deliveries.feature_name
        is distinct from stg_events__tracks.feature_name
        or deliveries.onboarding_step
        is distinct from stg_events__tracks.onboarding_step
        or deliveries.occurred_at
        is distinct from stg_events__tracks.occurred_at
)

select * from final
