{% macro account_month_id(account_id_column, month_start_date_column) %}
    {#- Key of an account x month: `<account_id>|<YYYY-MM-DD>`. The month
        expression may be any date or timestamp expression. -#}
    {{ surrogate_key([
        account_id_column,
        "cast(" ~ month_start_date_column ~ " as date)",
    ]) }}
{%- endmacro %}
