"""Run one nameko service: ``python -m servicekit.process.runner services.identity.service:IdentityService``.

Configuration comes from the environment (servicekit.process.config); no YAML file.
"""
from __future__ import annotations

import eventlet

eventlet.monkey_patch()  # noqa: E402  must precede every other import

import importlib  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402

from nameko.runners import ServiceRunner  # noqa: E402

from servicekit import request_ids  # noqa: E402
from servicekit.process.collector import settle_after_start, young_threshold  # noqa: E402
from servicekit.process.config import ConfigError, check_amqp_settings, nameko_config  # noqa: E402
from servicekit.process.priority import PriorityError, lower_cpu_priority, nice_steps  # noqa: E402
from servicekit.security.proofs import use_principal  # noqa: E402


def load(target: str):
    module_name, _, class_name = target.partition(":")
    return getattr(importlib.import_module(module_name), class_name)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m servicekit.process.runner package.module:ServiceClass", file=sys.stderr)
        return 2
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO"), format=request_ids.LOG_FORMAT)
    request_ids.log_request_ids()                   # a line a call causes names the gateway's request id
    try:
        steps = nice_steps(os.environ.get("PROCESS_NICE"))
        young_threshold()                           # GC_YOUNG_THRESHOLD, before anything starts
        check_amqp_settings()                       # no guest on a remote broker, TLS files that load
    except (PriorityError, ConfigError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if steps:
        logging.info("CPU priority lowered by %d (nice %d)", steps, lower_cpu_priority(steps))
    service_class = load(argv[0])
    try:
        use_principal(service_class.name, load=True)        # signs its calls and events
    except (RuntimeError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    runner = ServiceRunner({**nameko_config(), "SERVICE_CONTAINER_CLS": "servicekit.process.container.Container"})
    runner.add_service(service_class)
    stopping = eventlet.event.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.ready() or stopping.send())
    signal.signal(signal.SIGINT, lambda *_: stopping.ready() or stopping.send())
    runner.start()
    logging.info("started %s", argv[0])
    settle_after_start(argv[0])
    runner_thread = eventlet.spawn(runner.wait)
    stopping.wait()
    runner.stop()
    runner_thread.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
