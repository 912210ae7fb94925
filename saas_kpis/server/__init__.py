"""A self-hosted server for dbt's Semantic Layer APIs (GraphQL and Arrow Flight SQL).

`snapshots` publishes finished builds and watches for the newest; `adapter` gives both
transports the served snapshot's semantic layer and client-safe errors; `auth` is the one
bearer-token check; `statements` parses and whitelists what clients send; `graphql` and `flight`
are the two transports, each serialising its own wire format from the layer's typed metadata.
"""
