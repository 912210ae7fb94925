{% macro type_double() %}
    {{ return(adapter.dispatch('type_double', 'saas_kpis')()) }}
{% endmacro %}

{% macro default__type_double() %}
    {#- 8-byte float; dbt.type_float() is 4 bytes on some engines. -#}
    {{ return('double precision') }}
{% endmacro %}

{% macro spark__type_double() %}
    {{ return('double') }}
{% endmacro %}
