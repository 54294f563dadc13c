"""The platform's processes on one machine: what `bin/run` starts, in this order.

A ``planned`` row (a service a later issue writes) runs once its modules exist and is left out
silently until then; any other row whose modules are missing is skipped with a notice. Services
serve /metrics, /livez and /readyz on METRICS_PORT and are ready when /readyz answers 200 (their container runs,
their broker connection is up, their store answers); the gateway serves the same on its admin port, off the public one.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace


@dataclass(frozen=True)
class Process:
    name: str
    argv: tuple[str, ...]             # after `python`
    metrics_port: int
    needs: tuple[str, ...]            # modules that must exist for the row to run
    env: dict[str, str] = field(default_factory=dict)
    secrets: tuple[str, ...] = ()     # extra variables only this process receives
    ready_path: str = "/readyz"       # GET http://127.0.0.1:<metrics_port><ready_path> → 200
    store: str = "main"               # which embedded store process serves it (when MONGO_URI is not set)
    planned: bool = False             # not part of the platform until its modules are written
    user: str = ""                    # the broker user it logs in as (default: ``name``; another instance's: the first's)

    @property
    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.metrics_port}/metrics"

    @property
    def ready_url(self) -> str:
        return f"http://127.0.0.1:{self.metrics_port}{self.ready_path}"

    @property
    def ports(self) -> set[int]:
        return {self.metrics_port} | {int(value) for key, value in self.env.items() if key.endswith("_PORT")}


def service(name: str, class_name: str, metrics_port: int, secrets: tuple[str, ...] = (), store: str = "main",
            process_name: str = "", nice: int = 0, planned: bool = False) -> Process:
    module = f"services.{name}.service"
    env = {"METRICS_PORT": str(metrics_port), **({"PROCESS_NICE": str(nice)} if nice else {})}
    return Process(process_name or name, ("-m", "servicekit.process.runner", f"{module}:{class_name}"), metrics_port,
                   needs=("servicekit.process.runner", module), env=env, secrets=secrets, store=store, planned=planned)


GATEWAY_HTTP_PORT = 8080
GATEWAY_GRPC_PORT = 50051
GATEWAY_ADMIN_PORT = 8081         # /metrics, /docs, /openapi.json: loopback only (gateway.http.admin)
GATEWAY_ADMIN_GRPC_PORT = 50052   # gRPC with reflection, for grpcurl on this machine
# The live branch score (scoring and its store) yields the CPU to the members' scans: a scan's answer is
# immediate and final, a score a second later is still live. At a 900-branch themed day's peak this gave 1,201
# scans/s against 1,110 at equal priority (docs/performance.md, "Points consumer priority"), the live score 1-2 s behind
# the scans instead of 0.5-1 s. Member points (not live) run lower still, or as low.
LIVE_SCORE_NICE = 10
POINTS_NICE = 10
STORE_NICE = {"scoring": LIVE_SCORE_NICE}     # an embedded store process yields with the service it serves

INSTANCE_PORT_STEP = 100           # the second instance's metrics (or admin) port is the first's + 100, and so on


def with_instances(processes, counts: dict[str, int]) -> list[Process]:
    """``processes`` with ``counts[name]`` instances of the named rows (``bin/run --instances attendance=2``): each
    further one named ``<name>-<n>``, on metrics (the gateway: admin) port + 100 × (n - 1), logging in as the first's
    broker user. Several gateways share the public HTTP and gRPC ports (``GATEWAY_REUSE_PORT``: the kernel spreads
    the connections); only the first keeps the admin gRPC port. Instances of a service share its queues, so the
    broker spreads calls and events over them (docs/architecture.md, "Several instances")."""
    unknown = set(counts) - {spec.name for spec in processes}
    if unknown:
        raise ValueError(f"no process named {', '.join(sorted(unknown))} (names: "
                         f"{', '.join(spec.name for spec in processes)})")
    result = []
    for spec in processes:
        count = counts.get(spec.name, 1)
        if count < 1:
            raise ValueError(f"{spec.name}: at least one instance")
        shared = {"GATEWAY_REUSE_PORT": "on"} if spec.name == "gateway" and count > 1 else {}
        result.append(replace(spec, env={**spec.env, **shared}))
        for number in range(2, count + 1):
            port = spec.metrics_port + INSTANCE_PORT_STEP * (number - 1)
            env = {**spec.env, **shared}
            if spec.name == "gateway":
                env.update(GATEWAY_ADMIN_PORT=str(port), GATEWAY_ADMIN_GRPC_PORT="off")
            else:
                env["METRICS_PORT"] = str(port)
            result.append(replace(spec, name=f"{spec.name}-{number}", metrics_port=port, env=env,
                                  user=spec.user or spec.name))
    return result


PROCESSES = (
    service("identity", "IdentityService", 9101, secrets=("OPERATOR_PASSWORD",)),
    service("attendance", "AttendanceService", 9102),
    # scoring writes once per scan it learns of: on a store process of its own, its writes never queue
    # behind the members' scans (the embedded store is one Python process; a real MongoDB is shared)
    service("scoring", "ScoringService", 9103, store="scoring", nice=LIVE_SCORE_NICE),
    # member points are not live: their consumer yields the CPU to scans at a themed day's peak
    service("scoring", "PointsConsumer", 9106, store="scoring", process_name="scoring-points", nice=POINTS_NICE),
    service("content", "ContentService", 9104),
    service("volunteer", "VolunteerService", 9105),
    Process("gateway", ("-m", "gateway"), GATEWAY_ADMIN_PORT, needs=("gateway.__main__",),
            env={"GATEWAY_HTTP_PORT": str(GATEWAY_HTTP_PORT), "GATEWAY_GRPC_PORT": str(GATEWAY_GRPC_PORT),
                 "GATEWAY_ADMIN_PORT": str(GATEWAY_ADMIN_PORT),
                 "GATEWAY_ADMIN_GRPC_PORT": str(GATEWAY_ADMIN_GRPC_PORT)},     # its timeouts as in production
            ready_path="/readyz"),
)
