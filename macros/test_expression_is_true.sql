{% test expression_is_true(model, expression, column_name=none) %}
    {#- Rows for which a boolean SQL expression is false or NULL. -#}
    select *
    from {{ model }}
    where not coalesce({{ expression }}, false)
{% endtest %}
