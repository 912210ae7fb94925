{#- The daily revenue of an invoice line whose service period has fully
    elapsed by as_of_date adds up to its amount in USD; in a daily run (var
    data_tests_since), the lines whose last day is on or after
    data_tests_since. -#}
{%- set since = iso_date_var('data_tests_since') %}
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
        {%- if since %}
            and invoices.service_period_end_date > {{ since }}
        {%- endif %}
        and invoices.service_period_end_date
        <= {{ dbt.dateadd('day', 1, as_of_date()) }}
),

spread_totals as (
    select
        invoice_id,
        sum(revenue_usd) as revenue_usd
    from invoice_days
    {%- if since %}
        where invoice_id in (select elapsed_lines.invoice_id from elapsed_lines)
    {%- endif %}
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
