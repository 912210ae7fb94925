{% test unique_combination_of_columns(model, combination_of_columns) %}
    {#- Rows whose combination of columns occurs more than once. -#}
    {%- set columns_csv = combination_of_columns | join(', ') -%}
    select
        {{ columns_csv }},
        count(*) as duplicate_count
    from {{ model }}
    group by {{ columns_csv }}
    having count(*) > 1
{% endtest %}
