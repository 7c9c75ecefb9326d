"""`python -m vibecode_fakeprovider --port 9100 --latency-ms 50 --fault none`."""

from __future__ import annotations

import argparse
import asyncio
import socket

from .server import FAULTS, FakeProvider, serve


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=9100)
    p.add_argument("--fd", type=int, help="serve on this inherited listening socket")
    p.add_argument("--name", default="fake")
    p.add_argument("--latency-ms", type=float, default=0.0)
    p.add_argument("--latency-jitter-ms", type=float, default=0.0)
    p.add_argument("--tokens-per-second", type=float, default=0.0)
    p.add_argument("--reply", default=FakeProvider.reply)
    p.add_argument("--fault", choices=FAULTS, default="none")
    p.add_argument("--fail-times", type=int, default=0)
    args = p.parse_args()
    fake = FakeProvider(
        name=args.name,
        latency_ms=args.latency_ms,
        latency_jitter_ms=args.latency_jitter_ms,
        tokens_per_second=args.tokens_per_second,
        reply=args.reply,
        fault=args.fault,
        fail_times=args.fail_times,
    )
    sock = socket.socket(fileno=args.fd) if args.fd is not None else None
    port = sock.getsockname()[1] if sock is not None else args.port
    print(f"fake provider {args.name!r} on http://{args.host}:{port}/v1", flush=True)
    asyncio.run(serve(fake, args.host, args.port, sock=sock))


if __name__ == "__main__":
    main()
