"""Agent OS Enhanced core: workflow engine, evidence checks, session store, standards index.

This package imports no web, MCP or GitHub library; the doors (`mcp_server/`, `bot/`)
call into it.
"""

__version__ = "0.1.0"
