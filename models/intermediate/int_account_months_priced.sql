{#- MRR(a, m), seats(a, m) and plan_tier(a, m) from the items active at the
    month's snapshot date s: valid_from <= s and (valid_to is NULL or
    s < valid_to). plan_tier is the tier of the active item with the highest
    item MRR (ties: the higher tier), `none` when nothing is active. -#}
with

account_months as (
    select * from {{ ref('int_account_months_spined') }}
),

priced_items as (
    select * from {{ ref('int_subscription_items_priced') }}
),

active_items as (
    select
        account_months.account_id,
        account_months.month_start_date,
        priced_items.subscription_item_id,
        priced_items.plan_tier,
        priced_items.plan_tier_rank,
        priced_items.seats,
        priced_items.item_mrr_usd
    from account_months
    inner join priced_items
        on
            account_months.account_id = priced_items.account_id
            and account_months.snapshot_date >= priced_items.valid_from_date
            and (
                priced_items.valid_to_date is null
                or account_months.snapshot_date < priced_items.valid_to_date
            )
),

active_items_ranked as (
    select
        *,
        row_number() over (
            partition by account_id, month_start_date
            -- rounded so that float noise cannot break a tie
            order by
                {{ round_double('item_mrr_usd', 6) }} desc,
                plan_tier_rank desc,
                subscription_item_id asc
        ) as item_rank
    from active_items
),

account_month_totals as (
    select
        account_id,
        month_start_date,
        sum(item_mrr_usd) as mrr_usd,
        cast(sum(seats) as {{ dbt.type_int() }}) as seats
    from active_items
    group by 1, 2
),

top_items as (
    select
        account_id,
        month_start_date,
        plan_tier
    from active_items_ranked
    where item_rank = 1
),

final as (
    select
        account_months.account_id,
        coalesce(top_items.plan_tier, 'none') as plan_tier,
        case
            when account_months.months_since_signup < 6 then '0-6m'
            when account_months.months_since_signup < 12 then '6-12m'
            when account_months.months_since_signup < 24 then '12-24m'
            else '24m+'
        end as account_age_band,
        account_months.months_since_signup,
        coalesce(account_month_totals.mrr_usd, 0) as mrr_usd,
        coalesce(account_month_totals.seats, 0) as seats,
        coalesce(account_month_totals.mrr_usd, 0) > 0 as is_paying,
        account_months.is_partial_month,
        account_months.month_start_date,
        account_months.snapshot_date
    from account_months
    left join account_month_totals
        on
            account_months.account_id = account_month_totals.account_id
            and account_months.month_start_date
            = account_month_totals.month_start_date
    left join top_items
        on
            account_months.account_id = top_items.account_id
            and account_months.month_start_date = top_items.month_start_date
)

select * from final
