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
    {%- set since = data_tests_since() -%}
    {%- if since is none -%}
        {%- do return(relation) -%}
    {%- endif -%}
    {%- set where = where | replace('__data_tests_since__', since) -%}
    {%- set filtered -%}
        (select * from {{ relation }} where {{ where }}) dbt_subquery
    {%- endset -%}
    {%- do return(filtered) -%}
{%- endmacro %}

{% macro data_tests_since() %}
    {#- Var data_tests_since as a SQL date literal, or none when it is unset;
        a compiler error naming the var when it is not a calendar date in
        YYYY-MM-DD form. -#}
    {%- set value = var('data_tests_since', none) -%}
    {%- if value is none -%}
        {%- do return(none) -%}
    {%- endif -%}
    {%- set raw_value = value | string -%}
    {%- set parsed = modules.re.match(
        '^([0-9]{4})-([0-9]{2})-([0-9]{2})$', raw_value
    ) -%}
    {%- set is_date = false -%}
    {%- if parsed -%}
        {%- set year = parsed.group(1) | int -%}
        {%- set month = parsed.group(2) | int -%}
        {%- set day = parsed.group(3) | int -%}
        {%- if year >= 1 and 1 <= month <= 12 and 1 <= day <= 31 -%}
            {%- set first_of_month = modules.datetime.date(year, month, 1) -%}
            {%- set candidate = first_of_month
                + modules.datetime.timedelta(days=day - 1) -%}
            {%- set is_date = candidate.month == month -%}
        {%- endif -%}
    {%- endif -%}
    {%- if not is_date -%}
        {{ exceptions.raise_compiler_error(
            "var data_tests_since must be an ISO date (YYYY-MM-DD), got '"
            ~ raw_value ~ "'"
        ) }}
    {%- endif -%}
    {%- do return("cast('" ~ raw_value ~ "' as date)") -%}
{%- endmacro %}
