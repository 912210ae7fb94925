{#- The source may deliver one event twice: each event_id is kept once, as
    its earliest delivery (earliest received_at). Incremental, not a view
    like the other staging models: the de-duplication reads the whole event
    log, which a view would repeat in every test and model that reads it,
    and a table in every run (see README, Benchmarks). Each run ranks the
    deliveries received since the last run, minus the lookback (var
    event_lookback_days), together with the rows already kept for the same
    event_ids, so a later second delivery changes nothing; it writes only
    the event_ids whose kept delivery changes (a stored row wins a tie with
    its own reload from the lookback). Only the stored rows of the lookback
    are read whole; for older ones only the event_id is looked up (such a
    row was received first, so it stays).
    Only the deliveries of an event_id seen more than once are ranked: the
    others (about 99 %) pass through in the order read, without a window
    that would sort the whole log. The event_ids seen more than once are
    found by a hash (grouping_hash), much cheaper to group than the text;
    a hash shared by two event_ids only sends their deliveries to the
    ranking, which compares the event_ids themselves. -#}
{%- set reloads = later_than_lookback('received_at', 'received_at') %}
{{ config(
    materialized=incremental_materialization(),
    unique_key='event_id',
    incremental_strategy='delete+insert',
    on_schema_change='fail',
) }}
{#- The deliveries to rank: the new ones and, in an incremental run, the
    stored rows of the lookback. Written out in each CTE that reads them
    instead of being CTEs: an engine may store a CTE that is read more than
    once (DuckDB does), which would copy the whole event log (at scale L, to
    disk). -#}
{%- set new_deliveries -%}
    select * from (
        select
            {{ events_tracks_columns() | indent(12) }}
        from {{ raw_table('events', 'tracks') }}
    ) as renamed
    where {{ reloads or 'true' }}
{%- endset %}
{%- set deliveries -%}
    select
        new_deliveries.*,
        false as is_stored
    from ({{ new_deliveries }}) as new_deliveries
    {%- if reloads %}
        union all
        select
            event_id,
            account_id,
            user_id,
            event_name,
            feature_name,
            onboarding_step,
            occurred_at,
            received_at,
            true as is_stored
        from {{ this }}
        where {{ reloads }}
    {%- endif %}
{%- endset %}

with

repeated_event_ids as (
    select {{ grouping_hash('event_id') }} as event_id_hash
    from ({{ deliveries }}) as deliveries
    group by 1
    having count(*) > 1
),

single_deliveries as (
    select
        deliveries.event_id,
        deliveries.account_id,
        deliveries.user_id,
        deliveries.event_name,
        deliveries.feature_name,
        deliveries.onboarding_step,
        deliveries.occurred_at,
        deliveries.received_at,
        deliveries.is_stored,
        1 as delivery_number
    from ({{ deliveries }}) as deliveries
    left join repeated_event_ids
        on
            {{ grouping_hash('deliveries.event_id') }}
            = repeated_event_ids.event_id_hash
    where repeated_event_ids.event_id_hash is null
),

repeated_deliveries_ranked as (
    select
        deliveries.event_id,
        deliveries.account_id,
        deliveries.user_id,
        deliveries.event_name,
        deliveries.feature_name,
        deliveries.onboarding_step,
        deliveries.occurred_at,
        deliveries.received_at,
        deliveries.is_stored,
        row_number() over (
            partition by deliveries.event_id
            order by
                deliveries.received_at,
                deliveries.occurred_at,
                deliveries.account_id,
                deliveries.user_id,
                case when deliveries.is_stored then 0 else 1 end
        ) as delivery_number
    from ({{ deliveries }}) as deliveries
    inner join repeated_event_ids
        on
            {{ grouping_hash('deliveries.event_id') }}
            = repeated_event_ids.event_id_hash
),

deliveries_ranked as (
    select * from single_deliveries
    union all
    select * from repeated_deliveries_ranked
),

kept_before_lookback as (
    {%- if reloads %}
        select event_id from {{ this }}
        where
            not ({{ reloads }})
            and event_id in (
                select new_deliveries.event_id
                from ({{ new_deliveries }}) as new_deliveries
            )
    {%- else %}
        select cast(null as {{ dbt.type_string() }}) as event_id
        where false
    {%- endif %}
),

final as (
    select
        deliveries_ranked.event_id,
        deliveries_ranked.account_id,
        deliveries_ranked.user_id,
        deliveries_ranked.event_name,
        deliveries_ranked.feature_name,
        deliveries_ranked.onboarding_step,
        deliveries_ranked.event_name not in ('page_viewed', 'logged_in')
            as is_meaningful,
        deliveries_ranked.occurred_at,
        deliveries_ranked.received_at
    from deliveries_ranked
    left join kept_before_lookback
        on deliveries_ranked.event_id = kept_before_lookback.event_id
    where
        deliveries_ranked.delivery_number = 1
        and not deliveries_ranked.is_stored
        and kept_before_lookback.event_id is null
)

select * from final
