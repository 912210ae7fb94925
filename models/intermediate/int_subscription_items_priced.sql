{#- Item MRR in USD at budget rates:
    seats x price_per_seat x (1 - discount_pct / 100) x usd_rate,
    divided by 12 for annual plans. The product is exact (numeric); only the
    final division rounds, to a double. plan_tier_rank is the tier's place
    in the contract's tie-break order (var plan_tiers). -#}
with

subscription_items as (
    select * from {{ ref('stg_billing__subscription_items') }}
),

plans as (
    select * from {{ ref('stg_billing__plans') }}
),

fx_rates as (
    select * from {{ ref('stg_billing__fx_rates') }}
),

final as (
    select
        subscription_items.subscription_item_id,
        subscription_items.subscription_id,
        subscription_items.account_id,
        subscription_items.plan_id,
        plans.plan_tier,
        plans.billing_interval,
        subscription_items.seats,
        subscription_items.discount_pct,
        -- exact numeric product, then one rounding to double
        cast(
            subscription_items.seats
            * plans.price_per_seat_local
            * (100 - subscription_items.discount_pct)
            * fx_rates.usd_rate
            as {{ type_double() }}
        )
        / (100 * case plans.billing_interval when 'year' then 12 else 1 end)
            as item_mrr_usd,
        {{ plan_tier_rank('plans.plan_tier') }} as plan_tier_rank,
        subscription_items.valid_from_date,
        subscription_items.valid_to_date
    from subscription_items
    inner join plans
        on subscription_items.plan_id = plans.plan_id
    inner join fx_rates
        on plans.currency_code = fx_rates.currency_code
)

select * from final
