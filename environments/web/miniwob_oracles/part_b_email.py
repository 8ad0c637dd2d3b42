"""Oracles for the email-inbox family: find a sender's email, then reply, forward, delete or star it."""

from __future__ import annotations

import ast
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from agentrl.environments.web.miniwob_oracles.part_b_common import js, parts

if TYPE_CHECKING:
    from agentrl.environments.web.miniwob import PageItem


def goal(instruction: str) -> dict[str, str]:
    """{"task": reply|forward|delete|important, "by": sender, "to": .., "message": ..} from either instruction
    form: the template sentence, or the natural-language tasks' utterance with its field dict."""
    if instruction.startswith("{"):
        fields = dict(ast.literal_eval(instruction).get("fields", {}))
        fields.setdefault("task", "forward" if "to" in fields else "reply" if "message" in fields else "")
        fields["task"] = {"star": "important"}.get(fields["task"], fields["task"])
        return fields
    m = re.match(r"Find the email by (.+?) and (.*)$", instruction)
    if not m:
        return {}
    by, rest = m.groups()
    if rest.startswith("forward that email to "):
        return {"task": "forward", "by": by, "to": rest[len("forward that email to "):].rstrip(".")}
    if "trash icon" in rest:
        return {"task": "delete", "by": by}
    if "star icon" in rest:
        return {"task": "important", "by": by}
    reply = re.search(r'with the text "(.*)"\.?$', rest)
    return {"task": "reply", "by": by, "message": reply.group(1)} if reply else {}


def _named(items: Sequence[PageItem], name: str) -> PageItem | None:
    return next((it for it in items if it.id is not None and it.name.lower() == name), None)


def solve(content: str) -> str:
    instruction, items = parts(content)
    want = goal(instruction)
    task, by = want.get("task"), want.get("by")
    if not task or not by:
        return "stop()"
    fields = [it for it in items if it.role == "textbox"]
    send_reply, send_forward = _named(items, "send-reply"), _named(items, "send-forward")
    if send_reply is not None:  # the reply form is open
        text = want.get("message", "")
        box = fields[-1] if fields else None
        if box is not None and box.value != text:
            return f"type({box.id}, {js(text)})"
        return f"click({send_reply.id})"
    if send_forward is not None:  # the forward form: the body is prefilled, only the recipient is typed
        to = next((f for f in fields if f.name != "" or f.value is not None), None)
        if to is not None and to.value != want.get("to"):
            return f"type({to.id}, {js(want.get('to', ''))})"
        return f"click({send_forward.id})"
    if _named(items, "close-email") is not None:  # one email is open
        wanted = {"reply": "reply", "forward": "forward", "delete": "trash", "important": "star"}[task]
        target = next((it for it in items if it.id is not None and it.name.lower().split()[:1] == [wanted]), None)
        return f"click({target.id})" if target else "stop()"
    return _in_inbox(items, task, by)


def _in_inbox(items: Sequence[PageItem], task: str, by: str) -> str:
    """The inbox list: each thread is a clickable followed by its sender line, then its trash and star icons."""
    for i, it in enumerate(items):
        if it.role != "clickable" or it.name != "email-thread":
            continue
        sender = next((x.text.strip() for x in items[i + 1:] if x.id is None and x.text.strip()), "")
        if sender != by:
            continue
        if task in ("delete", "important"):
            icon = "trash" if task == "delete" else "star"
            row = items[i + 1:]
            end = next((k for k, x in enumerate(row) if x.name == "email-thread"), len(row))
            target = next((x for x in row[:end] if x.id is not None and x.name.split()[0] == icon), None)
            if target is not None:
                return f"click({target.id})"
        return f"click({it.id})"
    return "stop()"
