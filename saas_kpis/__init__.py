"""SaaS-KPI project helpers (synthetic raw data generator)."""
