{#- The MRR waterfall: one row per account and month from the account's
    first paying month through the month of as_of_date (so the month after
    a last paying month carries the churn), with its movement type and
    amounts, and the account's cohort. -#}
with

movements as (
    select * from {{ ref('int_mrr_movements_classified') }}
),

cohort_mrr as (
    select
        account_id,
        ending_mrr_usd as cohort_mrr_usd
    from movements
    where month_start_date = cohort_month_start_date
),

final as (
    select
        {{ account_month_id(
            'movements.account_id', 'movements.month_start_date'
        ) }} as account_month_id,
        {{ account_month_id(
            'movements.account_id', 'movements.cohort_month_start_date'
        ) }} as cohort_account_month_id,
        movements.account_id,
        movements.movement_type,
        movements.starting_mrr_usd,
        movements.ending_mrr_usd,
        movements.new_mrr_usd,
        movements.reactivation_mrr_usd,
        movements.expansion_mrr_usd,
        movements.contraction_mrr_usd,
        movements.churned_mrr_usd,
        cohort_mrr.cohort_mrr_usd,
        {{ dbt.datediff(
            'movements.cohort_month_start_date',
            'movements.month_start_date',
            'month',
        ) }} as months_since_first_payment,
        movements.ending_mrr_usd > 0 as is_paying,
        movements.is_partial_month,
        movements.month_start_date,
        movements.cohort_month_start_date
    from movements
    inner join cohort_mrr
        on movements.account_id = cohort_mrr.account_id
    where movements.month_start_date >= movements.cohort_month_start_date
)

select * from final
