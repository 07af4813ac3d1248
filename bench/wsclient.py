"""A lean WebSocket viewer for the fan-out benchmark: thousands per process.

A raw asyncio protocol (handshake, unmasked server frames, masked pongs) instead of a full client
library, so the clients spend as little CPU as possible of the 2 cores they share with the servers.
Each viewer counts frames, records which chat seq numbers it received (a bitmap: lost = gaps), and
a sample of viewers measures chat latency from the send time embedded in the text ("t<ns>").
"""

import asyncio
import base64
import os
import re
import struct
import time

SEQ = re.compile(rb'"type":"stream:chat-message","seq":(\d+)')
SENT_AT = re.compile(rb'"text":"t(\d+)')
MAX_SEQ = 1 << 17


class Viewer(asyncio.Protocol):
    def __init__(self, path: str, host: str, *, cookie: str = "", sample: bool = False, on_open=None):
        self.path, self.host, self.cookie, self.sample = path, host, cookie, sample
        self.buf = bytearray()
        self.upgraded = False
        self.frames = 0
        self.seqs = bytearray(MAX_SEQ // 8)
        self.received = 0
        self.latencies: list[float] = []
        self.errors: list[bytes] = []
        self.opened = asyncio.get_running_loop().create_future()
        self.closed = False
        self.transport = None
        self.on_text = None  # optional callback(bytes) for senders

    def connection_made(self, transport):
        self.transport = transport
        key = base64.b64encode(os.urandom(16)).decode()
        cookie = f"Cookie: {self.cookie}\r\n" if self.cookie else ""
        transport.write(
            f"GET {self.path} HTTP/1.1\r\nHost: {self.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nOrigin: http://{self.host}\r\n{cookie}\r\n"
            .encode()
        )

    def connection_lost(self, exc):
        self.closed = True
        if not self.opened.done():
            self.opened.set_result(False)

    def data_received(self, data: bytes):
        buf = self.buf
        buf += data
        if not self.upgraded:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            ok = buf.startswith(b"HTTP/1.1 101")
            del buf[: end + 4]
            self.upgraded = True
            if not self.opened.done():
                self.opened.set_result(ok)
            if not ok:
                self.transport.close()
                return
        while len(buf) >= 2:
            b0, b1 = buf[0], buf[1]
            length, offset = b1 & 0x7F, 2
            if length == 126:
                if len(buf) < 4:
                    return
                length, offset = struct.unpack_from(">H", buf, 2)[0], 4
            elif length == 127:
                if len(buf) < 10:
                    return
                length, offset = struct.unpack_from(">Q", buf, 2)[0], 10
            if len(buf) < offset + length:
                return
            payload = bytes(buf[offset: offset + length])
            del buf[: offset + length]
            opcode = b0 & 0x0F
            if opcode == 1:
                self.on_frame(payload)
            elif opcode == 9:
                self.send(payload, opcode=0xA)
            elif opcode == 8:
                self.transport.close()

    def on_frame(self, payload: bytes):
        self.frames += 1
        if self.on_text is not None:
            self.on_text(payload)
        for match in SEQ.findall(payload):
            seq = int(match)
            if seq < MAX_SEQ and not self.seqs[seq >> 3] & (1 << (seq & 7)):
                self.seqs[seq >> 3] |= 1 << (seq & 7)
                self.received += 1
        if self.sample:
            now = time.time_ns()
            self.latencies.extend((now - int(t)) / 1e9 for t in SENT_AT.findall(payload))
        if payload.startswith(b'{"type":"error"'):
            self.errors.append(payload[:200])

    def send(self, data: bytes, opcode: int = 1):
        if self.closed:
            return
        mask = os.urandom(4)
        n = len(data)
        header = bytes([0x80 | opcode])
        if n < 126:
            header += bytes([0x80 | n])
        elif n < 65536:
            header += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            header += bytes([0x80 | 127]) + struct.pack(">Q", n)
        masked = bytes(b ^ mask[i & 3] for i, b in enumerate(data))
        self.transport.write(header + mask + masked)


async def open_viewer(host: str, port: int, path: str, **kwargs) -> Viewer | None:
    loop = asyncio.get_running_loop()
    try:
        _, viewer = await loop.create_connection(lambda: Viewer(path, f"{host}:{port}", **kwargs), host, port)
        ok = await asyncio.wait_for(viewer.opened, 30)
    except (OSError, asyncio.TimeoutError):
        return None
    return viewer if ok else None
