{#- Ratable revenue per invoice line and day: every non-void invoice line
    issued by as_of_date spreads amount x usd_rate evenly over the days of
    [service_period_start, service_period_end); credit notes subtract (their
    amount is negative). Only days up to as_of_date. -#}
with

invoices as (
    select * from {{ ref('stg_billing__invoices') }}
),

fx_rates as (
    select * from {{ ref('stg_billing__fx_rates') }}
),

reporting_days as (
    select
        date_day,
        month_start_date
    from {{ ref('int_reporting_days_spined') }}
),

invoice_lines as (
    select
        invoices.invoice_id,
        invoices.account_id,
        invoices.service_period_start_date,
        invoices.service_period_end_date,
        cast(
            invoices.amount_local * fx_rates.usd_rate as {{ type_double() }}
        )
        / {{ dbt.datediff(
            'invoices.service_period_start_date',
            'invoices.service_period_end_date',
            'day',
        ) }} as daily_amount_usd
    from invoices
    inner join fx_rates
        on invoices.currency_code = fx_rates.currency_code
    where
        invoices.invoice_status != 'void'
        and {{ known_as_of('invoices.issued_at') }}
),

final as (
    select
        invoice_lines.invoice_id,
        invoice_lines.account_id,
        invoice_lines.daily_amount_usd as revenue_usd,
        reporting_days.date_day as revenue_date,
        reporting_days.month_start_date
    from invoice_lines
    inner join reporting_days
        on
            invoice_lines.service_period_start_date <= reporting_days.date_day
            and invoice_lines.service_period_end_date > reporting_days.date_day
)

select * from final
