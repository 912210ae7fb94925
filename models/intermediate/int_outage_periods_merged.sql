{#- The union of outage incidents as disjoint periods: overlapping or
    touching outages merge into one. An ongoing outage (no resolution by
    the end of as_of_date) lasts until the end of as_of_date. -#}
with

incidents as (
    select * from {{ ref('stg_support__incidents') }}
    where is_outage and {{ known_as_of('started_at') }}
),

outages as (
    select
        started_at,
        case
            when {{ known_as_of('resolved_at') }} then resolved_at
            else {{ end_of_as_of_date() }}
        end as ended_at
    from incidents
),

running_ends as (
    select
        started_at,
        ended_at,
        max(ended_at) over (
            order by started_at, ended_at
            rows between unbounded preceding and 1 preceding
        ) as previous_max_ended_at
    from outages
),

islands as (
    select
        started_at,
        ended_at,
        sum(
            case
                when
                    previous_max_ended_at is null
                    or started_at > previous_max_ended_at
                    then 1
                else 0
            end
        ) over (
            order by started_at, ended_at
            rows between unbounded preceding and current row
        ) as outage_period_number
    from running_ends
),

final as (
    select
        outage_period_number,
        min(started_at) as started_at,
        max(ended_at) as ended_at
    from islands
    group by 1
)

select * from final
