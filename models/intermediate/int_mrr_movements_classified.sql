{#- Each account-month next to the month before: starting and ending MRR
    and seats, the first paying month (cohort) and whether the account paid
    before the previous month, and the movement type:
      new           0 -> x, never paying before
      reactivation  0 -> x, paying in some month before m-1
      expansion     x -> y, y > x > 0
      contraction   x -> y, 0 < y < x
      churn         x -> 0
      unchanged     x -> x, or 0 -> 0
    with the amount of each movement (positive; only the one of its type is
    non-zero). MRR is compared at micro-dollar precision so that float noise never
    makes a movement. -#}
with

account_months as (
    select * from {{ ref('int_account_months_priced') }}
),

sequenced as (
    select
        account_id,
        month_start_date,
        is_partial_month,
        mrr_usd as ending_mrr_usd,
        seats as ending_seats,
        coalesce(
            lag(mrr_usd) over (
                partition by account_id order by month_start_date
            ),
            0
        ) as starting_mrr_usd,
        coalesce(
            lag(seats) over (
                partition by account_id order by month_start_date
            ),
            0
        ) as starting_seats,
        coalesce(
            max(case when is_paying then 1 else 0 end) over (
                partition by account_id
                order by month_start_date
                rows between unbounded preceding and 2 preceding
            ),
            0
        ) = 1 as was_paying_before_previous_month,
        min(case when is_paying then month_start_date end) over (
            partition by account_id
        ) as cohort_month_start_date
    from account_months
),

rounded as (
    select
        *,
        {{ round_double('ending_mrr_usd - starting_mrr_usd', 6) }}
            as mrr_change_usd
    from sequenced
),

classified as (
    select
        account_id,
        case
            when starting_mrr_usd = 0 and ending_mrr_usd > 0
                then
                    case
                        when was_paying_before_previous_month
                            then 'reactivation'
                        else 'new'
                    end
            when starting_mrr_usd > 0 and ending_mrr_usd = 0 then 'churn'
            when starting_mrr_usd > 0 and mrr_change_usd > 0 then 'expansion'
            when starting_mrr_usd > 0 and mrr_change_usd < 0
                then 'contraction'
            else 'unchanged'
        end as movement_type,
        starting_mrr_usd,
        ending_mrr_usd,
        starting_seats,
        ending_seats,
        is_partial_month,
        month_start_date,
        cohort_month_start_date
    from rounded
),

final as (
    select
        account_id,
        movement_type,
        starting_mrr_usd,
        ending_mrr_usd,
        case
            when movement_type = 'new' then ending_mrr_usd else 0
        end as new_mrr_usd,
        case
            when movement_type = 'reactivation' then ending_mrr_usd else 0
        end as reactivation_mrr_usd,
        case
            when movement_type = 'expansion'
                then ending_mrr_usd - starting_mrr_usd
            else 0
        end as expansion_mrr_usd,
        case
            when movement_type = 'contraction'
                then starting_mrr_usd - ending_mrr_usd
            else 0
        end as contraction_mrr_usd,
        case
            when movement_type = 'churn' then starting_mrr_usd else 0
        end as churned_mrr_usd,
        starting_seats,
        ending_seats,
        is_partial_month,
        month_start_date,
        cohort_month_start_date
    from classified
)

select * from final
