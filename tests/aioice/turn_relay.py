#!/usr/bin/env python3
"""Relays UDP traffic through a TURN server with aioice's TURN client.

An independent client for exp-e's TURN server (issue 5): allocates a UDP relay over UDP or
TCP with long-term credentials, sends numbered packets through the relay to an echo peer on
loopback (aioice binds a channel before the first send, so the data goes as ChannelData),
and counts the echoes that come back through the relay.

Prints one JSON line per step on stdout:
  {"event": "allocated", "relayed": "ip:port", "mapped": "ip:port"}
  {"event": "summary", "transport": ..., "relayed": "ip:port", "sent": N, "received": M,
   "corrupt": K, "channel_bound": bool, "errors": [...]}
With --hold S the allocation stays alive after the summary until a line arrives on stdin (or
S seconds pass), so that a test can look at the server's relay table; then it is deleted and
{"event": "closed"} follows. Exits 0 when the run completed (whatever the loss), 1 on an error.
"""

import argparse
import asyncio
import json
import logging
import struct
import sys
import time

import aioice
import aioice.turn


def emit(obj):
    print(json.dumps(obj), flush=True)


def fmt(addr):
    return f"{addr[0]}:{addr[1]}"


class ChannelLog(logging.Handler):
    """Notes aioice's "TURN channel bound" log records (logged once a ChannelBind succeeds)."""

    def __init__(self):
        super().__init__(level=logging.INFO)
        self.bound = []

    def emit(self, record):
        msg = record.getMessage()
        if msg.startswith("TURN channel bound"):
            self.bound.append(msg)


class Echo(asyncio.DatagramProtocol):
    """The peer: sends every datagram back where it came from (the relayed address)."""

    def __init__(self):
        self.transport = None
        self.echoed = 0
        self.sources = set()

    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        self.echoed += 1
        self.sources.add(fmt(addr))
        self.transport.sendto(data, addr)


class Client(asyncio.DatagramProtocol):
    """The TURN client's receiver: records which numbered packets came back intact."""

    def __init__(self, payloads):
        self.payloads = payloads
        self.received = set()
        self.corrupt = 0
        self.errors = []
        self.all_back = asyncio.get_running_loop().create_future()

    def datagram_received(self, data, addr):
        if len(data) < 4:
            self.corrupt += 1
            return
        (seq,) = struct.unpack("!I", data[:4])
        if seq < len(self.payloads) and self.payloads[seq] == data:
            self.received.add(seq)
            if len(self.received) == len(self.payloads) and not self.all_back.done():
                self.all_back.set_result(None)
        else:
            self.corrupt += 1

    def error_received(self, exc):
        self.errors.append(repr(exc))


def payload(seq, size):
    head = struct.pack("!I", seq)
    body = bytes((seq + i) & 0xFF for i in range(max(size - len(head), 0)))
    return head + body


async def wait_for_stdin_line(timeout):
    loop = asyncio.get_running_loop()
    got = loop.create_future()

    def readable():
        sys.stdin.buffer.readline()
        if not got.done():
            got.set_result(None)

    try:
        loop.add_reader(sys.stdin.fileno(), readable)
    except (OSError, ValueError):
        # stdin cannot be polled (a regular file, or closed): just hold for the time.
        await asyncio.sleep(timeout)
        return
    try:
        await asyncio.wait_for(got, timeout)
    except asyncio.TimeoutError:
        pass
    finally:
        loop.remove_reader(sys.stdin.fileno())


async def run(args):
    host, port = args.server.rsplit(":", 1)
    server = (host, int(port))
    loop = asyncio.get_running_loop()

    channels = ChannelLog()
    turn_log = logging.getLogger("aioice.turn")
    turn_log.setLevel(logging.INFO)
    turn_log.addHandler(channels)

    echo_transport, echo = await loop.create_datagram_endpoint(
        Echo, local_addr=(args.peer_host, 0)
    )
    peer = echo_transport.get_extra_info("sockname")[:2]

    payloads = [payload(i, args.size) for i in range(args.count)]
    turn, client = await asyncio.wait_for(
        aioice.turn.create_turn_endpoint(
            lambda: Client(payloads),
            server_addr=server,
            username=args.username,
            password=args.password,
            transport=args.transport,
        ),
        10,
    )
    relayed = turn.get_extra_info("sockname")
    mapped = turn.get_extra_info("related_address")
    emit({"event": "allocated", "relayed": fmt(relayed), "mapped": fmt(mapped)})

    interval = 1.0 / args.rate
    start = time.monotonic()
    for seq, data in enumerate(payloads):
        # An absolute schedule, so that the rate holds whatever each send costs.
        delay = start + seq * interval - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        turn.sendto(data, peer)
    try:
        await asyncio.wait_for(asyncio.shield(client.all_back), args.drain)
    except asyncio.TimeoutError:
        pass
    elapsed = time.monotonic() - start

    emit(
        {
            "event": "summary",
            "aioice": aioice.__version__,
            "transport": args.transport,
            "relayed": fmt(relayed),
            "peer": fmt(peer),
            "sent": len(payloads),
            "received": len(client.received),
            "corrupt": client.corrupt,
            "echoed_by_peer": echo.echoed,
            "peer_saw_sources": sorted(echo.sources),
            "channel_bound": len(channels.bound) > 0,
            "channel_binds": channels.bound,
            "errors": client.errors,
            "seconds": round(elapsed, 3),
        }
    )

    if args.hold > 0:
        await wait_for_stdin_line(args.hold)

    # Deletes the allocation (Refresh with LIFETIME 0) and closes the client's socket.
    turn.close()
    await asyncio.sleep(0.3)
    echo_transport.close()
    emit({"event": "closed"})


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--server", required=True, help="TURN server host:port")
    p.add_argument("--transport", choices=["udp", "tcp"], default="udp")
    p.add_argument("--username", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--peer-host", default="127.0.0.1", help="address of the echo peer")
    p.add_argument("--count", type=int, default=200, help="packets to send")
    p.add_argument("--size", type=int, default=172, help="bytes per packet")
    p.add_argument("--rate", type=float, default=50.0, help="packets per second")
    p.add_argument("--drain", type=float, default=3.0, help="seconds to wait for echoes")
    p.add_argument(
        "--hold",
        type=float,
        default=0.0,
        help="after the summary, keep the allocation until a stdin line or this many seconds",
    )
    args = p.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    try:
        asyncio.run(asyncio.wait_for(run(args), 60))
    except Exception as exc:  # reported as JSON so that the test shows it
        emit({"event": "error", "transport": args.transport, "error": repr(exc)})
        sys.exit(1)


if __name__ == "__main__":
    main()
