"""The chaos suite's business service: the endpoint of every http task type.

Run as its own process (so that it never competes with the harness for the
GIL): `python service.py [--port 0]`; it prints `PORT <n>` on stdout once it
listens on 127.0.0.1.

Baton's http executor POSTs {"task_id","task_type","payload","attempt"} with
X-Baton-Task-Id / X-Baton-Attempt. The service
- sleeps payload["ms"] milliseconds (default 0), then answers 200
  {"success":true};
- answers 503 instead when payload["fail_first"] is set and attempt == 1
  (after the sleep), so the attempt fails retryably.

Every call is recorded: task id, attempt, start and end (time.time(), the
real clock), outcome: "ok" (200 written), "503" (503 written), "cut" (the
client went away before the answer was written), "open" (still running).

Control endpoints (the harness, GET): /_records?since=N returns the records
from index N as JSON lines [task_id, attempt, start, end, outcome, path];
/_reset forgets every record; /_stats counts them.

HTTP/1.1 keep-alive on asyncio protocols: one request at a time per
connection, Content-Length or chunked bodies.
"""

import argparse
import asyncio
import json
import socket
import sys
import time

RECORDS = []  # lists: [task_id, attempt, start, end, outcome, path]


class Conn(asyncio.Protocol):
    def __init__(self):
        self.buf = bytearray()
        self.transport = None
        self.busy = False          # a request is being handled
        self.current = None        # record of the call in progress
        self.task = None
        self.closed = False

    def connection_made(self, transport):
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass

    def data_received(self, data):
        self.buf += data
        if not self.busy:
            self._next()

    def eof_received(self):
        # The client half-closed or went away: a call in progress is cut.
        self._cut()
        return False

    def connection_lost(self, exc):
        self.closed = True
        self._cut()

    def _cut(self):
        rec = self.current
        if rec is not None and rec[4] == "open":
            rec[3] = time.time()
            rec[4] = "cut"
        self.current = None
        if self.task is not None and not self.task.done():
            self.task.cancel()

    def _next(self):
        request = self._parse()
        if request is None:
            return
        self.busy = True
        self.task = asyncio.get_running_loop().create_task(self._handle(*request))

    def _parse(self):
        """One complete request off the buffer, or None when incomplete."""
        end = self.buf.find(b"\r\n\r\n")
        if end < 0:
            return None
        head = bytes(self.buf[:end]).decode("latin-1")
        lines = head.split("\r\n")
        try:
            method, target, version = lines[0].split(" ", 2)
        except ValueError:
            self.transport.close()
            return None
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        pos = end + 4
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body = bytearray()
            while True:
                line_end = self.buf.find(b"\r\n", pos)
                if line_end < 0:
                    return None
                size = int(bytes(self.buf[pos:line_end]).split(b";")[0], 16)
                pos = line_end + 2
                if size == 0:
                    trailer_end = self.buf.find(b"\r\n\r\n", pos - 2)
                    if trailer_end < 0:
                        return None
                    pos = trailer_end + 4
                    break
                if len(self.buf) < pos + size + 2:
                    return None
                body += self.buf[pos:pos + size]
                pos += size + 2
            body = bytes(body)
        else:
            length = int(headers.get("content-length", "0") or 0)
            if len(self.buf) < pos + length:
                return None
            body = bytes(self.buf[pos:pos + length])
            pos += length
        del self.buf[:pos]
        keep = headers.get("connection", "").lower() != "close" and version == "HTTP/1.1"
        return method, target, headers, body, keep

    def _write(self, status, body, keep, content_type="application/json"):
        if self.closed or self.transport.is_closing():
            return False
        reason = {200: "OK", 503: "Service Unavailable", 404: "Not Found", 400: "Bad Request"}.get(status, "X")
        head = (f"HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\n"
                f"Content-Length: {len(body)}\r\n")
        if not keep:
            head += "Connection: close\r\n"
        self.transport.write(head.encode() + b"\r\n" + body)
        return True

    async def _handle(self, method, target, headers, body, keep):
        try:
            if method == "GET" and target.startswith("/_"):
                self._control(target, keep)
            elif method == "POST":
                await self._task(target, headers, body, keep)
            else:
                self._write(404, b'{"success":false,"error":"not found"}', keep)
        except asyncio.CancelledError:
            return
        except Exception as error:  # never leave a connection hanging
            print(f"service: {error!r}", file=sys.stderr, flush=True)
            self._write(400, b'{"success":false,"error":"bad request"}', False)
            keep = False
        self.busy = False
        self.task = None
        if not keep:
            if not self.closed:
                self.transport.close()
            return
        if self.buf and not self.closed:
            self._next()

    async def _task(self, target, headers, body, keep):
        start = time.time()
        doc = json.loads(body or b"{}")
        payload = doc.get("payload") or {}
        task_id = headers.get("x-baton-task-id") or doc.get("task_id", "")
        attempt = int(headers.get("x-baton-attempt") or doc.get("attempt") or 0)
        rec = [task_id, attempt, start, None, "open", target]
        RECORDS.append(rec)
        self.current = rec
        ms = float(payload.get("ms", "0") or 0)
        if ms > 0:
            await asyncio.sleep(ms / 1000.0)
        if self.closed or rec[4] != "open":
            return
        if payload.get("fail_first") and attempt == 1:
            status, answer, outcome = 503, b'{"success":false,"error":"first attempt fails"}', "503"
        else:
            status, answer, outcome = 200, b'{"success":true}', "ok"
        if self._write(status, answer, keep):
            rec[3] = time.time()
            rec[4] = outcome
        self.current = None

    def _control(self, target, keep):
        path, _, query = target.partition("?")
        params = dict(p.partition("=")[::2] for p in query.split("&") if p)
        if path == "/_records":
            since = int(params.get("since", "0"))
            body = json.dumps(RECORDS[since:], separators=(",", ":")).encode()
        elif path == "/_reset":
            RECORDS.clear()
            body = b"{}"
        elif path == "/_stats":
            open_calls = sum(1 for r in RECORDS if r[4] == "open")
            body = json.dumps({"records": len(RECORDS), "open": open_calls}).encode()
        else:
            self._write(404, b"{}", keep)
            return
        self._write(200, body, keep)


async def main(host, port):
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Conn, host, port, backlog=1024, reuse_address=True)
    actual = server.sockets[0].getsockname()[1]
    print(f"PORT {actual}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    try:
        asyncio.run(main(args.host, args.port))
    except KeyboardInterrupt:
        pass
