#!/usr/bin/env python3
"""Follow one Waybill order on the event log, as an integrator would.

Reads the WAYBILL stream with an ordered consumer filtered by the server to the order's
events, prints each as a JSON line, and stores where it got to, so that a restarted
follower resumes instead of starting over:

- **Resume from a stored position.** After every event it handles, the follower writes the
  stream sequence it reached (and the event ids it has printed) to the state file, atomically
  (write, then rename). The next run starts at the position after it.
- **Deduplicate by `ce-id`.** Delivery is at least once: a crash between printing an event
  and storing the state, or a run started from an earlier position, sees events again. An
  event whose `ce-id` is in the state is not printed twice.
- **Everything about the order, one filter.** Every subject about an order carries its id
  before the aggregate's (`waybill.<service>.<aggregate>.<order id>.<id>`: the order, its
  tasks, its last mile, its ledger, its returns, claims, complaints and reverse
  shipments), so `waybill.*.*.<order id>.*` is the order's whole story, and the server
  sends nothing else (docs/EVENTS.md, "Following one order").

It stops once it has seen an event of the `--until` type for the order (in this run or an
earlier one) and nothing about the order is left to read, or after `--stop-after` new events
(to show a resume), or at `--timeout`.

    python follow_order.py --nats nats://127.0.0.1:4222 --order <order id> \
        --state var/follower.json --until waybill.aftersales.refund_issued.v1

The message classes come from proto/ (`make example-python` generates them into
examples/python/gen with grpcio-tools' protoc).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "gen"))

import nats  # noqa: E402  (after the path to the generated code)
from nats.js.api import ConsumerConfig, DeliverPolicy  # noqa: E402

from waybill.v1 import envelope_pb2  # noqa: E402

STREAM = "WAYBILL"
# Event ids remembered for deduplication. A redelivery comes soon after the first delivery,
# so the most recent ids are the ones that matter; this bounds the state file.
REMEMBERED_IDS = 10_000


class State:
    """Where the follower got to: the last stream position handled and the ids printed."""

    def __init__(self, path: Path):
        self.path = path
        self.position = 0
        self.seen: list[str] = []
        self.done = False
        if path.exists():
            stored = json.loads(path.read_text())
            self.position = int(stored["position"])
            self.seen = list(stored["seen"])
            self.done = bool(stored.get("done", False))
        self._seen_set = set(self.seen)

    def has_seen(self, event_id: str) -> bool:
        return event_id in self._seen_set

    def record(self, position: int, event_id: str | None) -> None:
        self.position = max(self.position, position)
        if event_id is not None and event_id not in self._seen_set:
            self.seen.append(event_id)
            self._seen_set.add(event_id)
            if len(self.seen) > REMEMBERED_IDS:
                self._seen_set.discard(self.seen.pop(0))

    def save(self) -> None:
        # Write then rename: a crash leaves the old state or the new one, never half of one.
        temporary = self.path.with_suffix(self.path.suffix + ".tmp")
        temporary.write_text(json.dumps({"position": self.position, "seen": self.seen, "done": self.done}))
        os.replace(temporary, self.path)


def describe(envelope: envelope_pb2.EventEnvelope) -> dict:
    """The facts an integrator usually wants from an envelope, without the payload's PII."""
    return {
        "type": envelope.event_type,
        "aggregate": envelope.aggregate_id,
        "service": envelope.WhichOneof("payload"),
        "occurred_at": envelope.occurred_at.ToJsonString(),
        "actor": envelope.actor.id if envelope.HasField("actor") else "",
    }


async def follow(args: argparse.Namespace) -> int:
    state = State(Path(args.state))
    start = args.from_position if args.from_position is not None else state.position + 1
    client = await nats.connect(args.nats, name="waybill-example-follower")
    js = client.jetstream()
    printed = 0
    subscription = await js.subscribe(
        f"waybill.*.*.{args.order}.*",
        stream=STREAM,
        ordered_consumer=True,
        config=ConsumerConfig(deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=max(start, 1)),
    )
    # How many of the order's events are there to read: the consumer counts them (only those
    # its filter matches), at the start and with every message.
    pending = (await subscription.consumer_info()).num_pending
    try:
        while True:
            if state.done and pending == 0:
                break
            if args.stop_after is not None and printed >= args.stop_after:
                break
            try:
                message = await subscription.next_msg(timeout=args.timeout)
            except nats.errors.TimeoutError:
                print(f"no event for {args.timeout} s; stopping", file=sys.stderr)
                return 2
            position = message.metadata.sequence.stream
            pending = message.metadata.num_pending
            headers = message.headers or {}
            event_id = headers.get("ce-id")
            envelope = envelope_pb2.EventEnvelope()
            envelope.ParseFromString(message.data)
            if event_id and not state.has_seen(event_id):
                line = {
                    "position": position,
                    "id": event_id,
                    "subject": message.subject,
                    **describe(envelope),
                    # Headers carry routing facts only, never personal data (docs/EVENTS.md).
                    "headers": dict(headers),
                }
                print(json.dumps(line), flush=True)
                printed += 1
                if envelope.event_type == args.until:
                    state.done = True
                state.record(position, event_id)
            else:
                state.record(position, None)
            state.save()
    finally:
        await subscription.unsubscribe()
        await client.close()
    print(f"{printed} new events; position {state.position}", file=sys.stderr)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nats", default="nats://127.0.0.1:4222", help="NATS server URL")
    parser.add_argument("--order", required=True, help="the order id to follow")
    parser.add_argument("--state", required=True, help="file holding the position and the ids seen")
    parser.add_argument("--until", default="waybill.aftersales.refund_issued.v1", help="ce-type that ends the order's story")
    parser.add_argument("--stop-after", type=int, help="stop after this many new events (to show a resume)")
    parser.add_argument("--from-position", type=int, help="start here instead of the stored position (ids seen still count)")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for the next event")
    return asyncio.run(follow(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
