"""The gateway inside a sandbox: a TCP listener on the sandbox's loopback that forwards to the gateway's unix socket.

A sandbox has no network (Docker's ``network_mode="none"``: loopback only), so a program inside cannot reach the
gateway's 127.0.0.1 port on the host. The gateway also listens on a unix socket (`Gateway(unix_socket=...)`)
whose folder is bind-mounted read-only into the container; this relay runs inside, next to the program:

    python3 inside_relay.py --socket /opt/agentrl-gateway/gateway.sock --port 8765 --ready /tmp/relay.ready &

and the program gets ``OPENAI_BASE_URL=http://127.0.0.1:8765/s/KEY/v1``. Bytes are copied both ways unchanged
(HTTP keep-alive and streaming included), one unix connection per TCP connection. Standard library only: it
runs on the sandbox image's own Python (3.8+), with nothing installed. It writes the `--ready` file once it
listens, and runs until killed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os

CHUNK = 256 * 1024


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            data = await reader.read(CHUNK)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(Exception):
            if writer.can_write_eof():
                writer.write_eof()  # half-close: the other direction may still be sending


async def _serve(socket_path: str, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
    try:
        upstream_reader, upstream_writer = await asyncio.open_unix_connection(socket_path)
    except OSError as e:
        body = f'{{"error": {{"message": "the gateway socket {socket_path} does not answer: {e}"}}}}'.encode()
        client_writer.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Type: application/json\r\nConnection: close\r\n"
                            b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
        with contextlib.suppress(Exception):
            await client_writer.drain()
        client_writer.close()
        return
    await asyncio.gather(_pipe(client_reader, upstream_writer), _pipe(upstream_reader, client_writer))
    for w in (upstream_writer, client_writer):
        with contextlib.suppress(Exception):
            w.close()


def _mark_ready(path: str) -> None:
    with open(path + ".tmp", "w") as f:
        f.write(str(os.getpid()))
    os.replace(path + ".tmp", path)  # whole or absent: the program's launcher polls for it


async def main(socket_path: str, port: int, ready: str | None) -> None:
    server = await asyncio.start_server(lambda r, w: _serve(socket_path, r, w), "127.0.0.1", port)
    if ready:
        _mark_ready(ready)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--socket", required=True, help="the gateway's unix socket")
    parser.add_argument("--port", type=int, default=8765, help="the loopback port to listen on")
    parser.add_argument("--ready", help="a file written once the relay listens")
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main(args.socket, args.port, args.ready))
