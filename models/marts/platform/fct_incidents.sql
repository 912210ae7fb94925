{#- Platform incidents started by the end of as_of_date. A resolution after
    as_of_date has not happened yet: the incident is ongoing (NULL). -#}
with

incidents as (
    select * from {{ ref('stg_support__incidents') }}
    where {{ known_as_of('started_at') }}
),

final as (
    select
        incident_id,
        incident_severity,
        {{ elapsed_hours(
            'started_at',
            "case when " ~ known_as_of('resolved_at') ~ " then resolved_at end"
        ) }} as resolution_hours,
        is_outage,
        started_at,
        case
            when {{ known_as_of('resolved_at') }} then resolved_at
        end as resolved_at
    from incidents
)

select * from final
