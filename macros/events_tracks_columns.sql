{% macro events_tracks_columns() %}
    {#- The columns of a raw events_tracks delivery, cast to their staging
        types: one copy for stg_events__tracks, which keeps one delivery per
        event_id, and the test that every delivery agrees with the one kept
        (events_tracks__event_id__deliveries_must_agree). Unindented: the
        caller indents it (`| indent(8)`). -#}
cast(event_id as {{ dbt.type_string() }}) as event_id,
cast(account_id as {{ dbt.type_string() }}) as account_id,
cast(user_id as {{ dbt.type_string() }}) as user_id,
cast(event_name as {{ dbt.type_string() }}) as event_name,
cast(feature_name as {{ dbt.type_string() }}) as feature_name,
cast(onboarding_step as {{ dbt.type_int() }}) as onboarding_step,
cast(occurred_at as {{ dbt.type_timestamp() }}) as occurred_at,
cast(received_at as {{ dbt.type_timestamp() }}) as received_at
{%- endmacro %}
