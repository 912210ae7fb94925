{% macro incremental_materialization() %}
    {#- Materialization of the incremental event models
        (stg_events__tracks, fct_api_requests and the four event marts):
        `incremental` where the engine has the delete+insert strategy and
        DELETE for their pre-hooks, else `table`, rebuilt in full on each
        run. -#}
    {{ return(adapter.dispatch('incremental_materialization', 'saas_kpis')()) }}
{% endmacro %}

{% macro default__incremental_materialization() %}
    {{ return('incremental') }}
{% endmacro %}

{% macro spark__incremental_materialization() %}
    {#- Apache Spark tables without Delta Lake (parquet, as the session
        method writes them) support neither DELETE nor the delete+insert
        and merge strategies; insert_overwrite would replace whole
        partitions with only the rows of the new batch. -#}
    {{ return('table') }}
{% endmacro %}
