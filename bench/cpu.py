"""CPU per SES notification in the feedback handler, as a multiple of the floor: reading the JSON it is made of.

AWS is served by FakeDeskmailClient (dicts), so the figure is deskmail's own work: Chalice's SQS event, Powertools'
batch processor, parsing, classifying, deciding, marshalling. The floor is json.loads of each SQS body plus
json.loads of the SES message inside it: no handler can do less.
"""

from __future__ import annotations

import json
import statistics
import time

from bench import workload
from bench.environment import service_logs_silenced
from bench.fake_dynamo import FakeDeskmailClient
from tests import ses_payloads as ses

BATCH_SIZES = (1, 10, 1000)
# SES feedback as production sees it, per recipient's email (the scale bench's shares): 96.9 % deliveries, 2 % hard
# bounces, 0.1 % complaints, 1 % delays. `measure`'s default is the four kinds in turn (75 % failures: heavier).
PRODUCTION_MIX = ("delivery",) * 969 + ("bounce",) * 20 + ("complaint",) + ("delay",) * 10
# Enough repetitions that each measurement takes a good fraction of a second, whatever the batch size.
NOTIFICATIONS_PER_ROUND = 2000
ROUNDS = 7


class FeedbackContext:
    """The Lambda context the feedback handler reads (its name, memory, deadline), for in-process runs."""

    function_name = "deskmail-dev-handle_ses_feedback"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:deskmail-dev-handle_ses_feedback"
    aws_request_id = "bench"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 60_000


def floor(bodies: list[str]) -> None:
    for body in bodies:
        envelope = json.loads(body)
        json.loads(envelope["Message"])


def _time_per_notification(run, events: list, clock) -> float:
    started = clock()
    for event in events:
        run(event)
    return (clock() - started) / sum(len(e["Records"]) if isinstance(e, dict) else len(e) for e in events)


def measure(
    batch_sizes=BATCH_SIZES, rounds=ROUNDS, clock=time.process_time, kinds: tuple[str, ...] = workload.KINDS
) -> dict:
    """Median seconds per notification (handler and floor) for each batch size, and their ratio; the feedback is
    `kinds` in turn, each about the next of 200 recorded notifications."""
    import app as application
    from chalicelib import runtime
    from chalicelib.adapters.dynamo import DeskmailTable

    notifications = workload.recorded_notifications(200)
    fake = FakeDeskmailClient()
    table = DeskmailTable(fake, runtime.settings().table_name)
    table.write_items(workload.items_for(notifications))
    real_table = application.runtime.table
    application.runtime.table = lambda: table  # the handler's adapter, on the fake client
    context = FeedbackContext()
    results = {}
    try:
        with service_logs_silenced():
            for size in batch_sizes:
                batches = max(1, NOTIFICATIONS_PER_ROUND // size)
                bodies = workload.bodies(kinds, notifications, batches * size)
                events = [ses.sqs_event(bodies[n * size : (n + 1) * size]) for n in range(batches)]
                body_lists = [[record["body"] for record in event["Records"]] for event in events]

                def run_handler(event):
                    response = application.handle_ses_feedback(event, context)
                    assert not response["batchItemFailures"], response

                run_handler(events[0])  # warm: first-use caches (translations, regexes, the settings)
                handler_times, floor_times = [], []
                for _ in range(rounds):
                    handler_times.append(_time_per_notification(run_handler, events, clock))
                    floor_times.append(_time_per_notification(floor, body_lists, clock))
                handler, floor_time = statistics.median(handler_times), statistics.median(floor_times)
                results[size] = {
                    "handler_us_per_notification": handler * 1e6,
                    "floor_us_per_notification": floor_time * 1e6,
                    "ratio_to_floor": handler / floor_time,
                    "handler_ms_per_batch": handler * size * 1e3,
                }
    finally:
        application.runtime.table = real_table
    return results


def profile(size: int = 10, batches: int = 200, top: int = 25) -> str:
    """cProfile of the handler on batches of this size: where the time goes (`python -m bench.cpu`)."""
    import cProfile
    import io
    import pstats

    import app as application
    from chalicelib import runtime
    from chalicelib.adapters.dynamo import DeskmailTable

    notifications = workload.recorded_notifications(200)
    table = DeskmailTable(FakeDeskmailClient(), runtime.settings().table_name)
    table.write_items(workload.items_for(notifications))
    application.runtime.table = lambda: table
    bodies = workload.bodies(workload.KINDS, notifications, batches * size)
    events = [ses.sqs_event(bodies[n * size : (n + 1) * size]) for n in range(batches)]
    context = FeedbackContext()
    with service_logs_silenced():
        application.handle_ses_feedback(events[0], context)
        profiler = cProfile.Profile()
        profiler.enable()
        for event in events:
            application.handle_ses_feedback(event, context)
        profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(top)
    out.write("\n")
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(top)
    return out.getvalue()


def measure_by_kind(size: int = 10, rounds: int = 5) -> dict:
    """At one batch size: each feedback kind alone, and the production mix (`PRODUCTION_MIX`)."""
    mixes = {kind: (kind,) for kind in workload.KINDS} | {"production_mix": PRODUCTION_MIX}
    return {name: measure((size,), rounds, kinds=kinds)[size] for name, kinds in mixes.items()}


if __name__ == "__main__":
    from bench.environment import use_stage_environment

    use_stage_environment()
    print(profile())
