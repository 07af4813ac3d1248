"""The reference for the fan-out benchmark: a minimal broadcast server written directly on asyncio
`websockets`. Every chat message or reaction it receives is stamped (chat gets a seq) and pushed at
once to every connection with `websockets.broadcast`: one serialization per event, no framework.

    python bench/reference_server.py PORT
"""

import asyncio
import json
import sys

from websockets.asyncio.server import broadcast, serve

try:
    import uvloop
except ImportError:  # pragma: no cover
    uvloop = None

connections: set = set()
seq = 0


async def handler(ws):
    global seq
    connections.add(ws)
    try:
        await ws.send(json.dumps({"type": "hello", "last_seq": seq}))
        async for text in ws:
            frame = json.loads(text)
            if frame.get("type") == "chat.send":
                seq += 1
                event = {"type": "stream:chat-message", "seq": seq,
                         "message": {"id": seq, "user": {"username": "ref"}, "text": frame["text"]}}
            elif frame.get("type") == "reaction.send":
                event = {"type": "stream:reaction", "counts": {frame["emoji"]: 1}, "window_ms": 0}
            else:
                continue
            broadcast(connections, json.dumps(event, ensure_ascii=False, separators=(",", ":")))
    except Exception:
        pass
    finally:
        connections.discard(ws)


async def main(port: int):
    async with serve(handler, "127.0.0.1", port, max_queue=None, ping_interval=None, backlog=4096):
        await asyncio.Future()


if __name__ == "__main__":
    if uvloop is not None:
        uvloop.install()
    asyncio.run(main(int(sys.argv[1])))
