{#- Platform incidents started by the end of as_of_date. A resolution after
    as_of_date has not happened yet: the incident is ongoing (NULL). -#}
with

incidents as (
    select * from {{ ref('stg_support__incidents') }}
    where {{ known_as_of('started_at') }}
),

as_of_known as (
    select
        incident_id,
        incident_severity,
        is_outage,
        started_at,
        case
            when {{ known_as_of('resolved_at') }} then resolved_at
        end as resolved_at
    from incidents
),

final as (
    select
        incident_id,
        incident_severity,
        {{ elapsed_hours('started_at', 'resolved_at') }} as resolution_hours,
        is_outage,
        started_at,
        resolved_at
    from as_of_known
)

select * from final
