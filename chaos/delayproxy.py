#!/usr/bin/env python3
"""A TCP proxy that holds every chunk the server sends for DELAY ms before
passing it on, in order: the test bed's stand-in for `tc qdisc … netem delay`
on the database host's interface where the kernel has no netem (each round
trip through it takes DELAY ms more; the client's bytes pass at once).

    delayproxy.py LISTEN_HOST:PORT UPSTREAM_HOST:PORT DELAY_MS
"""

import asyncio
import sys


async def pump(reader, writer, delay):
    loop = asyncio.get_running_loop()
    queue = asyncio.Queue()

    async def send():
        while True:
            due, data = await queue.get()
            if data is None:
                break
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            writer.write(data)
            await writer.drain()
        writer.close()

    sender = asyncio.create_task(send())
    try:
        while data := await reader.read(65536):
            queue.put_nowait((loop.time() + delay, data))
    except (ConnectionError, OSError):
        pass
    queue.put_nowait((0, None))
    await sender


async def main(listen, upstream, delay):
    async def handle(client_reader, client_writer):
        try:
            server_reader, server_writer = await asyncio.open_connection(*upstream)
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(pump(client_reader, server_writer, 0.0), pump(server_reader, client_writer, delay),
                             return_exceptions=True)

    server = await asyncio.start_server(handle, *listen, backlog=1024)
    async with server:
        await server.serve_forever()


def address(text):
    host, port = text.rsplit(":", 1)
    return host, int(port)


if __name__ == "__main__":
    asyncio.run(main(address(sys.argv[1]), address(sys.argv[2]), float(sys.argv[3]) / 1000.0))
