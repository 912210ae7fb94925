{#- The daily revenue of an invoice line whose service period has fully
    elapsed by as_of_date adds up to its amount in USD. -#}
with

invoices as (
    select * from {{ ref('stg_billing__invoices') }}
),

fx_rates as (
    select * from {{ ref('stg_billing__fx_rates') }}
),

invoice_days as (
    select * from {{ ref('int_invoice_lines_spread') }}
),

elapsed_lines as (
    select
        invoices.invoice_id,
        invoices.amount_local * fx_rates.usd_rate as amount_usd
    from invoices
    inner join fx_rates
        on invoices.currency_code = fx_rates.currency_code
    where
        invoices.invoice_status != 'void'
        and {{ known_as_of('invoices.issued_at') }}
        and invoices.service_period_end_date
        <= {{ dbt.dateadd('day', 1, as_of_date()) }}
),

spread_totals as (
    select
        invoice_id,
        sum(revenue_usd) as revenue_usd
    from invoice_days
    group by 1
),

final as (
    select
        elapsed_lines.invoice_id,
        elapsed_lines.amount_usd,
        spread_totals.revenue_usd
    from elapsed_lines
    left join spread_totals
        on elapsed_lines.invoice_id = spread_totals.invoice_id
    where
        abs(elapsed_lines.amount_usd - coalesce(spread_totals.revenue_usd, 0))
        >= 0.000001
)

select * from final
