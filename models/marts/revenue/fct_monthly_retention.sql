{#- Monthly retention inputs: one row per account and month m whose
    previous month m-1 had MRR or seats, keyed to the account-month m-1
    (start-of-window segment). -#}
with

movements as (
    select * from {{ ref('int_mrr_movements_classified') }}
),

final as (
    select
        {{ account_month_id('account_id', 'month_start_date') }}
            as account_month_id,
        {{ account_month_id(
            'account_id',
            dbt.dateadd('month', -1, 'month_start_date'),
        ) }} as prior_account_month_id,
        account_id,
        movement_type,
        starting_mrr_usd,
        ending_mrr_usd,
        case
            when starting_mrr_usd > 0 then ending_mrr_usd else 0
        end as retained_mrr_usd,
        case
            when starting_mrr_usd > 0
                then
                    case
                        when ending_mrr_usd < starting_mrr_usd
                            then ending_mrr_usd
                        else starting_mrr_usd
                    end
            else 0
        end as gross_retained_mrr_usd,
        expansion_mrr_usd,
        contraction_mrr_usd,
        churned_mrr_usd,
        starting_seats,
        ending_seats,
        case
            when starting_seats > 0 and ending_seats > starting_seats
                then ending_seats - starting_seats
            else 0
        end as expanded_seats,
        starting_mrr_usd > 0 as is_starting_paying,
        movement_type = 'churn' as is_churned,
        is_partial_month,
        month_start_date
    from movements
    where starting_mrr_usd > 0 or starting_seats > 0
)

select * from final
