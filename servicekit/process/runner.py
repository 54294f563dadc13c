"""Run one nameko service: ``python -m servicekit.process.runner services.identity.service:IdentityService``.

Configuration comes from the environment (servicekit.process.config); no YAML file. On METRICS_PORT it serves
/metrics, /livez and /readyz (servicekit.process.health). Exit codes: 0 after SIGTERM or SIGINT, 2 for a setting
refused at start, 3 when its container died or stopped by itself (EXIT_AFTER_DEATH_SECONDS, 1 s, after the death,
/livez answering 503 meanwhile): a supervisor (bin/run, Kubernetes) starts it again.
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
from servicekit.process.health import EXIT_CONTAINER_DIED, HEALTH  # noqa: E402
from servicekit.process.metrics import serve_metrics  # noqa: E402
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
    HEALTH.watch(runner.containers)
    stopping = eventlet.event.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.ready() or stopping.send(SIGNALLED))
    signal.signal(signal.SIGINT, lambda *_: stopping.ready() or stopping.send(SIGNALLED))
    runner.start()
    HEALTH.started = True
    serve_metrics()             # started by the service's Metrics while the container starts; here if it has none
    logging.info("started %s", argv[0])
    settle_after_start(argv[0])
    watcher = eventlet.spawn(death_of, runner)
    watcher.link(lambda _: stopping.ready() or stopping.send(DIED))
    if stopping.wait() == DIED:
        # A container that died leaves the process a zombie (its metrics port answering, no work done): exit, so
        # that bin/run or Kubernetes starts it afresh; /livez answers 503 meanwhile.
        logging.critical("the container of %s died (%s): exiting with code %d", argv[0], watcher.wait(),
                         EXIT_CONTAINER_DIED)
        eventlet.sleep(float(os.environ.get("EXIT_AFTER_DEATH_SECONDS", "1")))
        return EXIT_CONTAINER_DIED
    HEALTH.stopping = True                          # not ready while it finishes what runs
    runner.stop()
    watcher.kill()
    return 0


SIGNALLED, DIED = "signalled", "died"


def death_of(runner: ServiceRunner) -> str:
    """Wait until a container of ``runner`` stops; what it died of (``stopped`` after a clean stop)."""
    try:
        runner.wait()
    except Exception as error:  # noqa: BLE001  whatever killed the container
        return f"{type(error).__name__}: {error}"
    return "stopped"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
