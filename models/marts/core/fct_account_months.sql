{#- The account x month snapshot: MRR, seats, the month's new and
    reactivation MRR (flows whose segment is month m) and the three segment
    dimensions of every KPI. Every fact that is sliced by segment joins here
    through account_month_id, naming the month its rule uses. -#}
with

account_months as (
    select * from {{ ref('int_account_months_priced') }}
),

movements as (
    select
        account_id,
        month_start_date,
        new_mrr_usd,
        reactivation_mrr_usd
    from {{ ref('int_mrr_movements_classified') }}
),

accounts as (
    select
        account_id,
        industry
    from {{ ref('stg_billing__accounts') }}
),

final as (
    select
        {{ account_month_id(
            'account_months.account_id',
            'account_months.month_start_date',
        ) }} as account_month_id,
        account_months.account_id,
        account_months.plan_tier,
        accounts.industry,
        account_months.account_age_band,
        account_months.months_since_signup,
        account_months.mrr_usd,
        account_months.mrr_usd * {{ var('gross_margin') }}
            as gross_margin_mrr_usd,
        movements.new_mrr_usd,
        movements.reactivation_mrr_usd,
        account_months.seats,
        account_months.is_paying,
        account_months.is_partial_month,
        account_months.month_start_date,
        account_months.snapshot_date
    from account_months
    inner join accounts
        on account_months.account_id = accounts.account_id
    inner join movements
        on
            account_months.account_id = movements.account_id
            and account_months.month_start_date = movements.month_start_date
)

select * from final
