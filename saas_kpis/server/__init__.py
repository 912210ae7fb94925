"""A self-hosted server for dbt's Semantic Layer APIs (GraphQL and Arrow Flight SQL).

`snapshots` publishes finished builds and watches for the newest (`warehouse_targets`: the
snapshots of PostgreSQL builds, served from the warehouse through a pool); `adapter` gives both
transports the served snapshot's semantic layer and client-safe errors, through `result_cache`
(answers per snapshot and request) and `declarative_cache` (the saved queries a build asks to be
computed before its snapshot is served); `auth` is the one bearer-token check; `scopes` narrows
what a token of the token file (`token_file`) may see; `limits`, `graphql_limits`, `admission`
and `pending_results` bound what one request and one token may take;
`statements` and `table_statements` parse and whitelist what clients send;
`graphql` and `flight` are the two transports, each serialising its own wire format from the
layer's typed metadata. Flight's pieces: `flight_sql_protocol` (the protobuf messages),
`statement_results` (what a statement returns), `flight_catalog` (what a schema browser lists)
and `sql_info` (what the server says about itself). The limits that keep one token holder from
starving the others: `limits` (the settings and the cheap size checks), `graphql_limits` (body
size and GraphQL document size, before parsing), `admission` (the fair, bounded queue of the
query workers) and `pending_results` (unfetched Flight results); the statement timeout and
result caps are the semantic layer's `query_control`.
"""
