{#- Per month: MRR(m) = MRR(m-1) + new + reactivation + expansion
    - contraction - churn, summed over all accounts. -#}
with

account_months as (
    select * from {{ ref('fct_account_months') }}
),

movements as (
    select * from {{ ref('fct_mrr_movements') }}
),

monthly_mrr as (
    select
        month_start_date,
        sum(mrr_usd) as mrr_usd
    from account_months
    group by 1
),

monthly_movements as (
    select
        month_start_date,
        sum(
            new_mrr_usd
            + reactivation_mrr_usd
            + expansion_mrr_usd
            - contraction_mrr_usd
            - churned_mrr_usd
        ) as net_new_mrr_usd
    from movements
    group by 1
),

bridged as (
    select
        monthly_mrr.month_start_date,
        monthly_mrr.mrr_usd,
        coalesce(
            lag(monthly_mrr.mrr_usd) over (
                order by monthly_mrr.month_start_date
            ),
            0
        ) as previous_mrr_usd,
        coalesce(monthly_movements.net_new_mrr_usd, 0) as net_new_mrr_usd
    from monthly_mrr
    left join monthly_movements
        on monthly_mrr.month_start_date = monthly_movements.month_start_date
),

final as (
    select *
    from bridged
    where abs(previous_mrr_usd + net_new_mrr_usd - mrr_usd) >= 0.000001
)

select * from final
