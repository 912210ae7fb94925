{#- Minutes of each day covered by the union of outages (see
    int_outage_periods_merged), one row per day of the time spine; the
    inputs of uptime. -#}
with

reporting_days as (
    select date_day from {{ ref('int_reporting_days_spined') }}
),

outage_periods as (
    select * from {{ ref('int_outage_periods_merged') }}
),

days as (
    select
        date_day,
        cast(date_day as {{ dbt.type_timestamp() }}) as day_started_at,
        cast(
            {{ dbt.dateadd('day', 1, 'date_day') }}
            as {{ dbt.type_timestamp() }}
        ) as day_ended_at
    from reporting_days
),

day_overlaps as (
    select
        days.date_day,
        {{ dbt.datediff(
            "case when outage_periods.started_at > days.day_started_at"
            ~ " then outage_periods.started_at else days.day_started_at end",
            "case when outage_periods.ended_at < days.day_ended_at"
            ~ " then outage_periods.ended_at else days.day_ended_at end",
            'second',
        ) }} as outage_seconds
    from days
    inner join outage_periods
        on
            days.day_started_at < outage_periods.ended_at
            and days.day_ended_at > outage_periods.started_at
),

final as (
    select
        reporting_days.date_day,
        cast(
            coalesce(sum(day_overlaps.outage_seconds), 0)
            as {{ type_double() }}
        ) / 60 as outage_minutes,
        1440 as minutes_in_day
    from reporting_days
    left join day_overlaps
        on reporting_days.date_day = day_overlaps.date_day
    group by 1
)

select * from final
