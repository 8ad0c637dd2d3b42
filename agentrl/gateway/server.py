"""`Gateway`: the OpenAI-compatible HTTP server in front of a policy, one `Session` per episode.

    async with Gateway(policy) as gateway:          # binds 127.0.0.1 (port 0: any free port)
        session = gateway.open_session()
        env = {"OPENAI_BASE_URL": gateway.base_url(session), "OPENAI_API_KEY": session.key}
        ... run the program ...
        episode = gateway.close_session(session).episode()

Routes (a session is named by its secret key, either in the path or as the bearer API key, so a program can
only write into the episode it was given):

- ``POST /s/{key}/v1/chat/completions`` or ``POST /v1/chat/completions`` with ``Authorization: Bearer {key}``:
  one turn; ``"stream": true`` answers with server-sent ``chat.completion.chunk`` events.
- ``GET /s/{key}/v1/models``, ``GET /v1/models``: the one model served.
- ``POST /sessions`` (a new session: its key and base URL), ``GET /sessions/{key}`` (its episode so far as
  JSON), ``DELETE /sessions/{key}`` (close it; returns the episode). Used by `agentrl gateway`.

The server runs on the event loop that `start` is awaited on, and the policy's `generate` is awaited there.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable
from typing import Any, Self

from agentrl.errors import ConfigError
from agentrl.gateway import protocol
from agentrl.gateway.protocol import RequestError
from agentrl.gateway.session import Session

HOST = "127.0.0.1"  # the gateway serves programs on this machine only


class Gateway:
    """`policy` serves every session (unless `open_session` names another); `on_close(session)` is called when a
    session is closed over HTTP (`agentrl gateway` writes its episode there)."""

    def __init__(self, policy: Any, *, port: int = 0, model: str = "agentrl", agent: str = "agent",
                 on_close: Callable[[Session], None] | None = None, unix_socket: str | None = None):
        self.policy, self.port, self.model, self.agent = policy, port, model, agent
        self.unix_socket = unix_socket  # also served there (mode 0666): a sandbox reaches it through a mount
        self.on_close = on_close
        self.sessions: dict[str, Session] = {}
        self._runner: Any = None

    @property
    def url(self) -> str:
        if self._runner is None:
            raise ConfigError("the gateway is not started; `await gateway.start()` (or use `async with`) first.")
        return f"http://{HOST}:{self.port}"

    def base_url(self, session: Session) -> str:
        """What a program puts in OPENAI_BASE_URL to play `session`."""
        return f"{self.url}/s/{session.key}/v1"

    # -- lifetime -----------------------------------------------------------------------------------------
    async def start(self) -> str:
        try:
            from aiohttp import web
        except ImportError as e:
            raise ConfigError("the gateway needs aiohttp: pip install 'agentrl-suite[gateway]' (or aiohttp).") from e
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.add_routes([
            web.post("/v1/chat/completions", self._chat), web.post("/s/{key}/v1/chat/completions", self._chat),
            web.get("/v1/models", self._models), web.get("/s/{key}/v1/models", self._models),
            web.post("/sessions", self._new_session), web.get("/sessions/{key}", self._get_session),
            web.delete("/sessions/{key}", self._delete_session)])
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, HOST, self.port).start()
        self.port = self._runner.addresses[0][1]  # the real port when 0 asked for any free one
        if self.unix_socket is not None:
            await web.UnixSite(self._runner, self.unix_socket).start()
            # The sandbox user (nobody) must be able to connect; the socket's folder decides who can see it.
            os.chmod(self.unix_socket, 0o666)
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- sessions -----------------------------------------------------------------------------------------
    def open_session(self, policy: Any = None) -> Session:
        """A new episode; `policy` overrides the gateway's for this session (e.g. the trainer's current one)."""
        session = Session(policy or self.policy, agent=self.agent, model=self.model)
        self.sessions[session.key] = session
        return session

    def close_session(self, session: Session | str) -> Session:
        """End the episode: later requests with its key are refused."""
        key = session if isinstance(session, str) else session.key
        found = self.sessions.pop(key, None)
        if found is None:
            raise KeyError("no open session with that key")
        found.closed = True
        return found

    def _session_of(self, request: Any) -> Session:
        key = request.match_info.get("key")
        if key is None:
            auth = request.headers.get("Authorization", "")
            key = auth[len("Bearer "):].strip() if auth.startswith("Bearer ") else None
        if not key:
            raise RequestError("no session given: use a session's base URL (.../s/KEY/v1) or its key as the API "
                               "key (Authorization: Bearer KEY).", status=401, code="unknown_session")
        session = self.sessions.get(key)
        if session is None:
            raise RequestError("unknown session: the key names no open session on this gateway (it was never "
                               "opened, or its episode is over). Ask the trainer or `POST /sessions` for one.",
                               status=401, code="unknown_session")
        return session

    # -- handlers -----------------------------------------------------------------------------------------
    async def _chat(self, request: Any) -> Any:
        from aiohttp import web

        try:
            session = self._session_of(request)
            try:
                body = await request.json()
            except (json.JSONDecodeError, UnicodeDecodeError) as e:
                raise RequestError(f"the request body is not valid JSON: {e}.") from e
            body = protocol.check_request(body)
            turn, reply = await session.complete(body)
        except RequestError as e:
            return web.json_response(e.body(), status=e.status)
        completion_id = f"chatcmpl-{uuid.uuid4().hex}"
        if not body.get("stream"):
            return web.json_response(protocol.completion_body(completion_id, self.model, turn, reply))
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await response.prepare(request)
        for chunk in protocol.stream_chunks(completion_id, self.model, turn, reply, include_usage):
            await response.write(f"data: {json.dumps(chunk)}\n\n".encode())
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response

    async def _models(self, request: Any) -> Any:
        from aiohttp import web

        if request.match_info.get("key") is not None:
            try:
                self._session_of(request)
            except RequestError as e:
                return web.json_response(e.body(), status=e.status)
        return web.json_response({"object": "list", "data": [
            {"id": self.model, "object": "model", "created": 0, "owned_by": "agentrl"}]})

    async def _new_session(self, request: Any) -> Any:
        from aiohttp import web

        session = self.open_session()
        return web.json_response({"key": session.key, "name": session.name, "base_url": self.base_url(session)})

    async def _get_session(self, request: Any) -> Any:
        from aiohttp import web

        session = self.sessions.get(request.match_info["key"])
        if session is None:
            return web.json_response(protocol.error_body("unknown session", code="unknown_session"), status=404)
        return web.json_response(session.episode().to_dict())

    async def _delete_session(self, request: Any) -> Any:
        from aiohttp import web

        try:
            session = self.close_session(request.match_info["key"])
        except KeyError:
            return web.json_response(protocol.error_body("unknown session", code="unknown_session"), status=404)
        if self.on_close is not None:
            self.on_close(session)
        return web.json_response(session.episode().to_dict())
