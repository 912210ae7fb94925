{#- The rank of a plan tier in the contract's tie-break order (kpi-spec,
    Segments: "ties: the higher tier, enterprise > pro > starter"), read
    from var plan_tiers (lowest first): 1 for the first tier listed. A tier
    the var does not list ranks NULL, which the not_null test of the
    column reports.
    Arguments:
      column: the SQL expression of the plan tier. -#}
{% macro plan_tier_rank(column) -%}
    case {{ column }}
    {%- for tier in var('plan_tiers') %}
        when '{{ tier }}' then {{ loop.index }}
    {%- endfor %}
    end
{%- endmacro %}
