{% macro growth_rate(current_value, base_value) %}
    {#- current / base - 1; NULL when the base is NULL or <= 0. -#}
    case
        when {{ base_value }} > 0
            then {{ current_value }} / {{ base_value }} - 1
    end
{%- endmacro %}

{% macro compound_growth_rate(current_value, base_value, periods) %}
    {#- (current / base) ^ (1 / periods) - 1: the constant growth rate per
        period that turns base into current. NULL when the base is NULL or
        <= 0, the ratio is negative, or periods is not positive. -#}
    case
        when
            {{ base_value }} > 0
            and {{ current_value }} >= 0
            and {{ periods }} > 0
            then power(
                cast({{ current_value }} as {{ type_double() }})
                / {{ base_value }},
                1.0 / ({{ periods }})
            ) - 1
    end
{%- endmacro %}
