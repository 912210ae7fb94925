{#- Support tickets created by the end of as_of_date, keyed to the
    account-month of their creation date. A first response or resolution
    recorded after as_of_date has not happened yet (NULL); neither has the
    CSAT rating of a ticket not resolved by then (the survey follows the
    resolution, and the score has no timestamp of its own). -#}
with

tickets as (
    select * from {{ ref('stg_support__tickets') }}
    where {{ known_as_of('created_at') }}
),

as_of_known as (
    select
        ticket_id,
        account_id,
        ticket_priority,
        ticket_channel,
        case
            when {{ known_as_of('resolved_at') }} then csat_score
        end as csat_score,
        is_escalated,
        created_at,
        case
            when {{ known_as_of('first_responded_at') }}
                then first_responded_at
        end as first_responded_at,
        case
            when {{ known_as_of('resolved_at') }} then resolved_at
        end as resolved_at
    from tickets
),

final as (
    select
        ticket_id,
        {{ account_month_id(
            'account_id', dbt.date_trunc('month', 'created_at')
        ) }} as account_month_id,
        account_id,
        ticket_priority,
        ticket_channel,
        csat_score,
        {{ elapsed_hours('created_at', 'first_responded_at') }}
            as first_response_hours,
        {{ elapsed_hours('created_at', 'resolved_at') }}
            as resolution_hours,
        is_escalated,
        created_at,
        first_responded_at,
        resolved_at
    from as_of_known
)

select * from final
