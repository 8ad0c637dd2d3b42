"""The OpenAI-compatible gateway: run any agent program against a base URL and record token-exact turns.

    from agentrl.gateway import Gateway
    async with Gateway(policy) as gateway:
        session = gateway.open_session()      # one episode; its base URL is gateway.base_url(session)

`Gateway` (server.py) serves ``/v1/chat/completions`` and ``/v1/models`` on 127.0.0.1; `Session` (session.py)
turns each request into a `Turn`, extending the previous turn's tokens when the request extends the
conversation; `protocol` holds the OpenAI wire format. `agentrl gateway` (cli.py) serves a model from the
command line. The env kind that runs external programs through it is `agentrl.environments.external`.
See docs/gateway.md.
"""

from agentrl.gateway.protocol import RequestError
from agentrl.gateway.server import HOST, Gateway
from agentrl.gateway.session import Session

__all__ = ["HOST", "Gateway", "RequestError", "Session"]
