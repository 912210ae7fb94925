{% macro percentile_cont(expression, fraction) %}
    {#- The continuous percentile of a numeric expression (linear
        interpolation between the closest ranks, as MetricFlow's percentile
        measures with use_discrete_percentile: false), as an aggregate.
        expression: the column or expression; fraction: a number in [0, 1]. -#}
    {{ return(adapter.dispatch('percentile_cont', 'saas_kpis')(
        expression, fraction
    )) }}
{% endmacro %}

{% macro default__percentile_cont(expression, fraction) %}
    percentile_cont({{ fraction }}) within group (order by {{ expression }})
{%- endmacro %}

{% macro spark__percentile_cont(expression, fraction) %}
    {#- Spark's exact percentile interpolates like percentile_cont. -#}
    percentile({{ expression }}, {{ fraction }})
{%- endmacro %}
