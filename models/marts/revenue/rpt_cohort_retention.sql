{#- The cohort heatmap: one row per cohort month (first paying month) and
    months since first payment, with logo and revenue retention. -#}
with

movements as (
    select * from {{ ref('fct_mrr_movements') }}
),

cells as (
    select
        cohort_month_start_date,
        months_since_first_payment,
        count(*) as cohort_account_count,
        sum(case when is_paying then 1 else 0 end) as retained_account_count,
        sum(cohort_mrr_usd) as cohort_mrr_usd,
        sum(ending_mrr_usd) as retained_mrr_usd,
        max(month_start_date) as month_start_date,
        max(case when is_partial_month then 1 else 0 end) = 1
            as is_partial_month
    from movements
    group by 1, 2
),

final as (
    select
        cohort_month_start_date,
        months_since_first_payment,
        cohort_account_count,
        retained_account_count,
        cohort_mrr_usd,
        retained_mrr_usd,
        cast(retained_account_count as {{ type_double() }})
        / nullif(cohort_account_count, 0) as cohort_logo_retention,
        retained_mrr_usd / nullif(cohort_mrr_usd, 0)
            as cohort_revenue_retention,
        is_partial_month,
        month_start_date
    from cells
)

select * from final
