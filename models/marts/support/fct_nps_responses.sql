{#- NPS responses recorded by the end of as_of_date, keyed to the
    account-month of the response date: promoters score 9-10, detractors
    0-6. -#}
with

responses as (
    select * from {{ ref('stg_support__nps_responses') }}
    where {{ known_as_of('responded_at') }}
),

final as (
    select
        response_id,
        {{ account_month_id(
            'account_id', dbt.date_trunc('month', 'responded_at')
        ) }} as account_month_id,
        account_id,
        user_id,
        nps_score,
        nps_score >= 9 as is_promoter,
        nps_score <= 6 as is_detractor,
        responded_at
    from responses
)

select * from final
