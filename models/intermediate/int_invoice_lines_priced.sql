{#- Each invoice line that revenue counts: not void, issued by as_of_date,
    in a currency with a USD rate. Its revenue per day of the service period
    [service_period_start, service_period_end) is amount x usd_rate / days;
    credit notes are negative. line_hash is a hash of the raw row and its
    rate: invoices carry no update timestamp, so the incremental revenue
    models find new, restated and removed lines by it (see
    macros/incremental_revenue.sql). -#}
with

invoices as (
    select * from {{ ref('stg_billing__invoices') }}
),

fx_rates as (
    select * from {{ ref('stg_billing__fx_rates') }}
),

final as (
    select
        invoices.invoice_id,
        invoices.account_id,
        cast(
            invoices.amount_local * fx_rates.usd_rate as {{ type_double() }}
        )
        / {{ dbt.datediff(
            'invoices.service_period_start_date',
            'invoices.service_period_end_date',
            'day',
        ) }} as daily_amount_usd,
        {{ row_hash([
            'invoices.invoice_id',
            'invoices.account_id',
            'invoices.subscription_id',
            'invoices.invoice_type',
            'invoices.invoice_status',
            'invoices.currency_code',
            'invoices.amount_local',
            'invoices.service_period_start_date',
            'invoices.service_period_end_date',
            'invoices.issued_at',
            'fx_rates.usd_rate',
        ]) }} as line_hash,
        invoices.service_period_start_date,
        invoices.service_period_end_date
    from invoices
    inner join fx_rates
        on invoices.currency_code = fx_rates.currency_code
    where
        invoices.invoice_status != 'void'
        and {{ known_as_of('invoices.issued_at') }}
)

select * from final
