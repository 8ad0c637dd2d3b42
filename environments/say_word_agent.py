"""An agent program that knows nothing of agentrl: the example `ProgramEnv` runs (environments/external_demo.py).

It talks to any OpenAI-compatible API through ``OPENAI_BASE_URL`` / ``OPENAI_API_KEY`` (stdlib only), reads its
task from ``AGENTRL_TASK``, offers one tool, and prints its last reply.
"""

import json
import os
import urllib.request

ROUNDS = 3
SAY = {"type": "function", "function": {"name": "say", "description": "Say one word out loud.",
                                        "parameters": {"type": "object", "properties": {"word": {"type": "string"}},
                                                       "required": ["word"]}}}


def chat(messages: list[dict]) -> dict:
    request = urllib.request.Request(
        os.environ["OPENAI_BASE_URL"].rstrip("/") + "/chat/completions",
        data=json.dumps({"model": os.environ.get("AGENTRL_MODEL", "agentrl"), "messages": messages,
                         "tools": [SAY]}).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {os.environ['OPENAI_API_KEY']}"})
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.loads(response.read())["choices"][0]["message"]


def main() -> None:
    task = json.loads(os.environ["AGENTRL_TASK"])
    messages = [{"role": "system", "content": "You are a helpful agent."}, *task["prompt"]]
    reply: dict = {}
    for _ in range(ROUNDS):
        reply = chat(messages)
        messages.append(reply)
        for call in reply.get("tool_calls") or ():
            messages.append({"role": "tool", "tool_call_id": call["id"], "content": "said"})
        if not reply.get("tool_calls"):
            messages.append({"role": "user", "content": "Use the say tool."})
    print(reply.get("content") or "")


if __name__ == "__main__":
    main()
