{% macro generate_integers(digit_count) %}
    {#- Rows 0 .. 10^digit_count - 1 in column integer_value, built from
        cross-joined digits so that it runs on every engine. -#}
    with digits as (
        {% for digit in range(10) %}
        select {{ digit }} as digit_value
        {% if not loop.last %}union all{% endif %}
        {% endfor %}
    )

    select
        {% for position in range(digit_count) %}
        digits_{{ position }}.digit_value * {{ 10 ** position }}
        {%- if not loop.last %} +{% endif %}
        {% endfor %} as integer_value
    from digits as digits_0
    {% for position in range(1, digit_count) %}
    cross join digits as digits_{{ position }}
    {% endfor %}
{% endmacro %}
