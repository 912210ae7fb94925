"""Drive the real dbt-mcp server with the real MCP client, for tests/mcp/test_dbt_mcp.py.

dbt-mcp and the `mcp` client need Python 3.12, so this script runs in `.venv-mcp` while the
tests run in the project's Python 3.11 venv. It starts `dbt-mcp` as an MCP stdio subprocess
with this process's environment (the test sets DBT_HOST, DBT_TOKEN and the rest), reads a
JSON list of calls `[{"tool": ..., "arguments": {...}}]` from stdin, makes them in order and
prints one JSON object: the names of the listed tools and each call's result as MCP returns
it (error flag, text content, structured content).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client


async def drive(calls: list[dict[str, Any]]) -> dict[str, Any]:
    server = StdioServerParameters(
        command=str(Path(sys.executable).with_name("dbt-mcp")),
        env=dict(os.environ),
    )
    async with stdio_client(server) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        tools = (await session.list_tools()).tools
        results = []
        for call in calls:
            result = await session.call_tool(call["tool"], call.get("arguments") or {})
            results.append(
                {
                    "tool": call["tool"],
                    "is_error": bool(result.isError),
                    "text": "".join(c.text for c in result.content if c.type == "text"),
                    "structured": result.structuredContent,
                }
            )
    return {"tools": sorted(tool.name for tool in tools), "results": results}


def main() -> None:
    calls = json.load(sys.stdin)
    json.dump(asyncio.run(drive(calls)), sys.stdout)


if __name__ == "__main__":
    main()
