{#- Data tests of a daily run test only the recent rows of the large event
    tables. A test opts in with a `where` config that names the placeholder
    __data_tests_since__, e.g. `received_at >= __data_tests_since__`:

    - var data_tests_since unset (the default: full builds, `make test`, CI):
      no filter at all, every row is tested;
    - var data_tests_since set to an ISO date (YYYY-MM-DD): the placeholder
      becomes the date literal cast('YYYY-MM-DD' as date).

    A test without the placeholder keeps dbt's own get_where_subquery. -#}

{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- if not where or '__data_tests_since__' not in where -%}
        {%- do return(adapter.dispatch('get_where_subquery', 'dbt')(relation)) -%}
    {%- endif -%}
    {%- set since = iso_date_var('data_tests_since') -%}
    {%- if since is none -%}
        {%- do return(relation) -%}
    {%- endif -%}
    {%- set where = where | replace('__data_tests_since__', since) -%}
    {%- set filtered -%}
        (select * from {{ relation }} where {{ where }}) dbt_subquery
    {%- endset -%}
    {%- do return(filtered) -%}
{%- endmacro %}
