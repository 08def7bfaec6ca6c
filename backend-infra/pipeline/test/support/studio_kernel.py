"""Run notebook cells in a kernel the Jupyter server starts, as JupyterLab does (test only).

``python studio_kernel.py SERVER_URL KERNEL_NAME`` starts a kernel of that
kernelspec through the server's REST API (``POST /api/kernels``), then reads
cells from stdin, one JSON string (the cell's source) a line, runs each over
the kernel's websocket (``/api/kernels/<id>/channels``, Jupyter message
protocol 5.3) and answers it with one JSON line on stdout; at the end of
stdin it deletes the kernel. Each answer: ``status``
(``ok`` / ``error``), ``stdout``, ``stderr``, ``text`` (the ``text/plain`` of
what it displayed), ``bundles`` (every other MIME type it displayed, by
type), ``ename``, ``evalue``, ``traceback``. The server token comes from
``JUPYTER_TOKEN`` (never the command line). Used by aws-e2e.test.ts.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from datetime import datetime, timezone

from tornado.httpclient import AsyncHTTPClient, HTTPRequest
from tornado.websocket import websocket_connect


def _message(session: str, code: str) -> dict:
    return {
        "header": {
            "msg_id": uuid.uuid4().hex,
            "msg_type": "execute_request",
            "session": session,
            "username": "repoguard-e2e",
            "version": "5.3",
            "date": datetime.now(timezone.utc).isoformat(),
        },
        "parent_header": {},
        "metadata": {},
        "content": {
            "code": code,
            "silent": False,
            "store_history": True,
            "user_expressions": {},
            "allow_stdin": False,
            "stop_on_error": False,
        },
        "channel": "shell",
        "buffers": [],
    }


async def _run(url: str, kernel_name: str, timeout: float) -> None:
    token = os.environ["JUPYTER_TOKEN"]
    headers = {"Authorization": f"token {token}"}
    http = AsyncHTTPClient()
    reply = await http.fetch(
        f"{url}/api/kernels",
        method="POST",
        headers={**headers, "Content-Type": "application/json"},
        body=json.dumps({"name": kernel_name}),
        request_timeout=timeout,
    )
    kernel = json.loads(reply.body)["id"]
    session = uuid.uuid4().hex
    ws_url = url.replace("http://", "ws://", 1)
    socket = await websocket_connect(
        HTTPRequest(
            f"{ws_url}/api/kernels/{kernel}/channels?session_id={session}",
            headers=headers,
            request_timeout=timeout,
        )
    )
    try:
        while line := await asyncio.to_thread(sys.stdin.readline):
            code = json.loads(line)
            request = _message(session, code)
            socket.write_message(json.dumps(request))
            cell = {"status": None, "stdout": "", "stderr": "", "text": "", "bundles": {}}
            idle = replied = False
            while not (idle and replied):
                raw = await asyncio.wait_for(socket.read_message(), timeout)
                if raw is None:
                    raise RuntimeError("the kernel's websocket closed")
                msg = json.loads(raw)
                if msg.get("parent_header", {}).get("msg_id") != request["header"]["msg_id"]:
                    continue
                kind, content = msg["msg_type"], msg["content"]
                if kind == "stream":
                    cell[content["name"]] += content["text"]
                elif kind in ("display_data", "execute_result"):
                    data = dict(content.get("data", {}))
                    cell["text"] += str(data.pop("text/plain", "")) + "\n"
                    for mime, value in data.items():
                        cell["bundles"].setdefault(mime, []).append(value)
                elif kind == "error":
                    cell.update(
                        ename=content["ename"],
                        evalue=content["evalue"],
                        traceback=content["traceback"],
                    )
                elif kind == "execute_reply":
                    cell["status"] = content["status"]
                    replied = True
                elif kind == "status" and content["execution_state"] == "idle":
                    idle = True
            sys.stdout.write(json.dumps(cell) + "\n")
            sys.stdout.flush()
    finally:
        socket.close()
        await http.fetch(
            f"{url}/api/kernels/{kernel}",
            method="DELETE",
            headers=headers,
            request_timeout=timeout,
            raise_error=False,
        )


def main() -> None:
    asyncio.run(_run(sys.argv[1].rstrip("/"), sys.argv[2], timeout=120))


if __name__ == "__main__":
    main()
