"""A self-hosted server for dbt's Semantic Layer APIs (GraphQL and Arrow Flight SQL)."""
