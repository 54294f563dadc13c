"""The whole platform on one machine, on its embedded defaults: `bin/run` (python -m deploy.local.up).

Everything lives under var/ (gitignored): keys, the embedded store, logs, demo logins.
A child (a service, the gateway, an embedded store) that exits once the platform is up is started again with a
back-off (deploy.local.supervision); the others keep running. Ctrl-C or SIGTERM stops every child; the data stays
and the next start reuses it.
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from deploy.local import prometheus as local_prometheus
from deploy.local.broker import BrokerSetupError, is_local_guest, login_settings, users_imported
from deploy.local.processes import (GATEWAY_ADMIN_PORT, GATEWAY_GRPC_PORT, GATEWAY_HTTP_PORT, PROCESSES, STORE_NICE,
                                     Process, with_instances)
from deploy.local.supervision import Supervisor
from servicekit.process.config import amqp_uri
from servicekit.storage.embedded_mongo import EmbeddedMongo, EmbeddedMongoError, log_tail
from servicekit.security.keys import ensure_keys, ensure_operator_password
from servicekit.process.priority import lower_priority_of

ROOT = Path(__file__).resolve().parents[2]
VAR = ROOT / "var"
LOGS = VAR / "log"
DEMO_FLAG = VAR / "demo-seeded"
DEMO_LOGINS = VAR / "demo-logins.txt"
DEMO_STATE = VAR / "demo-seed.json"        # the passwords the seed chose, kept from before each is used
READY_TIMEOUT_SECONDS = 60
STOP_GRACE_SECONDS = 10


class PlatformError(RuntimeError):
    pass


class StopRequested(Exception):
    pass


@dataclass
class Child:
    spec: Process
    popen: subprocess.Popen
    log_path: Path
    env: dict[str, str] = field(default_factory=dict, repr=False)        # what it was started with, to start
    secrets: dict[str, str] = field(default_factory=dict, repr=False)    # it again the same way


class Platform:
    def __init__(self):
        self.children: list[Child] = []
        self.stores: dict[str, EmbeddedMongo] = {}     # embedded store processes by name (main, scoring)
        self.scheme = "http"                           # the gateway's HTTP port: https with a certificate
        self.supervisor: Supervisor | None = None

    def start(self, secrets: dict[str, str], tls: bool = False, instances: dict[str, int] | None = None) -> dict[str, str]:
        LOGS.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ, PYTHONUNBUFFERED="1", DB_PREFIX=os.environ.get("DB_PREFIX", "pb"),
                   AMQP_URI=amqp_uri(), **ensure_keys(VAR / "keys"))
        env.update(web_settings(env, tls))
        if env.get("GATEWAY_TLS_CERT"):
            self.scheme = "https"
            trust_for_local_calls(env["GATEWAY_TLS_CERT"])
        check_broker(env["AMQP_URI"])
        runnable = runnable_processes(with_instances(PROCESSES, instances or {}))
        check_ports_free(runnable)
        if not env.get("MONGO_URI"):
            for name in dict.fromkeys(["main", *(spec.store for spec in runnable)]):
                self.start_store(name)
            env["MONGO_URI"] = self.stores["main"].uri
        logins = broker_logins(runnable)
        for spec in runnable:
            store = self.stores.get(spec.store)
            child_env = {**env, **logins.get(spec.name, {}), **({"MONGO_URI": store.uri} if store else {})}
            self.children.append(spawn(spec, child_env, secrets))
        for child in self.children:
            self.wait_ready(child)
        return env

    def start_store(self, name: str, var: Path = VAR) -> EmbeddedMongo:
        """An embedded store process (``main`` or a service's own, under ``var``), at its ``STORE_NICE``."""
        folder = "mongo" if name == "main" else f"mongo-{name}"
        store = self.stores[name] = EmbeddedMongo(var / folder, log_path=var / "log" / f"{folder}.log").start()
        lower_priority_of(store.process.pid, STORE_NICE.get(name, 0))     # its own session: with its group
        return store

    def wait_ready(self, child: Child) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        url = child.spec.ready_url
        if (child.spec.user or child.spec.name) == "gateway" and self.scheme == "https":
            url = url.replace("http://", "https://", 1)
        while not http_ok(url):
            self.check_alive()
            if time.monotonic() > deadline:
                raise PlatformError(f"{child.spec.name} 未在 {READY_TIMEOUT_SECONDS} 秒内就绪 (not ready: "
                                    f"{child.spec.ready_url})\n{log_tail(child.log_path)}")
            time.sleep(0.3)

    def check_alive(self) -> None:
        for store in self.stores.values():
            if store.process.poll() is not None:
                raise PlatformError(f"nx-27017 意外退出 (store exited unexpectedly); {store.log_path}:\n"
                                    f"{log_tail(store.log_path)}")
        for child in self.children:
            code = child.popen.poll()
            if code is not None:
                raise PlatformError(f"{child.spec.name} 意外退出 (exited unexpectedly, code {code}); "
                                    f"{child.log_path} 末尾 (log tail):\n{log_tail(child.log_path)}")

    def supervise(self) -> None:
        """Start again, each after its back-off, the children and embedded stores that exited (bin/run's loop)."""
        if self.supervisor is None:
            self.supervisor = Supervisor(LOGS / "supervisor.log")
            for name, store in self.stores.items():
                self.supervisor.add(f"store {name}", lambda name=name: self.restart_store(name),
                                    lambda store=store: store.process.poll() if store.process else -1,
                                    store.log_path)
            for child in self.children:
                self.supervisor.add(child.spec.name, lambda child=child: self.respawn(child),
                                    child.popen.poll, child.log_path)
        self.supervisor.check()

    def respawn(self, child: Child) -> None:
        child.popen = spawn(child.spec, child.env, child.secrets).popen
        self.supervisor.children[child.spec.name].exit_code = child.popen.poll

    def restart_store(self, name: str) -> None:
        """The embedded store ``name`` again, on its port and files: the services' clients reconnect by themselves."""
        store = self.stores[name]
        store.process = None                # exited: start() would take a process object for a running store
        store.start()
        lower_priority_of(store.process.pid, STORE_NICE.get(name, 0))

    def running(self, name: str) -> bool:
        return any(child.spec.name == name for child in self.children)

    def stop(self) -> None:
        for child in reversed(self.children):
            signal_group(child.popen, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for child in reversed(self.children):
            try:
                child.popen.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                print(f"{child.spec.name} 未响应 SIGTERM，强制结束 (SIGKILL)")
                signal_group(child.popen, signal.SIGKILL)
                child.popen.wait()
        self.children.clear()
        for store in self.stores.values():
            store.stop()
        self.stores.clear()


def web_settings(env: dict[str, str], tls: bool, var: Path = VAR) -> dict[str, str]:
    """What the pages need of the environment. ``tls`` (``bin/run --tls``): a self-signed certificate for this
    machine under var/keys/, the gateway listening on every interface and the QR codes naming its LAN address, so
    that a phone on the same network opens them in a secure context (which geolocation needs). Values already in
    the environment win (a certificate of one's own: GATEWAY_TLS_CERT and GATEWAY_TLS_KEY)."""
    settings: dict[str, str] = {}
    if tls and not env.get("GATEWAY_TLS_CERT"):
        from gateway.http.tls import ensure_self_signed

        cert, key = ensure_self_signed(var / "keys")
        settings.update(GATEWAY_TLS_CERT=str(cert), GATEWAY_TLS_KEY=str(key))
        settings["GATEWAY_HOST"] = env.get("GATEWAY_HOST") or "0.0.0.0"
    if not env.get("PUBLIC_BASE_URL"):
        scheme = "https" if tls or env.get("GATEWAY_TLS_CERT") else "http"
        host = "127.0.0.1"
        if scheme == "https":
            from gateway.http.tls import lan_address

            host = lan_address() or host
        settings["PUBLIC_BASE_URL"] = f"{scheme}://{host}:{GATEWAY_HTTP_PORT}"
    return settings


def trust_for_local_calls(cert_path: str) -> None:
    """This process's own HTTPS calls (readiness, the demo seed) trust the gateway's certificate."""
    context = ssl.create_default_context(cafile=cert_path)
    urllib.request.install_opener(urllib.request.build_opener(urllib.request.HTTPSHandler(context=context)))


def runnable_processes(processes) -> list[Process]:
    """The rows whose modules exist. A planned service not written yet is no part of the platform and goes
    unmentioned (every start said "跳过 content … 尚不存在", as if something had failed); a missing module of
    any other row is worth a line."""
    runnable = []
    for spec in processes:
        missing = missing_module(spec)
        if not missing:
            runnable.append(spec)
        elif not spec.planned:
            print(f"跳过 {spec.name} (skipped): 模块 {missing} 尚不存在 (module not written yet)")
    return runnable


def missing_module(spec: Process) -> str | None:
    for module in spec.needs:
        try:
            found = importlib.util.find_spec(module)
        except ModuleNotFoundError:
            found = None
        if found is None:
            return module
    return None


def broker_logins(specs: list[Process]) -> dict[str, dict[str, str]]:
    """Each process's own broker user on the local broker (set up by bin/setup: deploy.local.broker); none when
    AMQP_URI names a broker of its own, whose operator gives the processes their users."""
    if not is_local_guest(os.environ.get("AMQP_URI")):
        return {}
    if not users_imported():
        print("RabbitMQ 用户未建立, 各进程以 guest 登录 (broker users not set up: every process logs in as guest; "
              "bin/setup could not create them: /tmp/partybuilding-broker.log)")
        return {}
    try:
        return {spec.name: login_settings(spec.user or spec.name) for spec in specs}
    except (BrokerSetupError, KeyError) as error:
        raise PlatformError(f"RabbitMQ 用户未建立 (broker users not set up): {error}") from None


def check_broker(uri: str) -> None:
    parts = urlsplit(uri)
    try:
        socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 5672), timeout=3).close()
    except OSError as error:
        raise PlatformError(f"RabbitMQ 无应答 (not answering) at {parts.hostname}:{parts.port or 5672}: {error}. "
                            "bin/run 会先运行 bin/setup 启动它 (bin/setup starts it), 或设置 AMQP_URI.") from None


def check_ports_free(specs: list[Process]) -> None:
    for spec in specs:
        for port in sorted(spec.ports):
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    raise PlatformError(f"端口 {port} 已被占用 (port in use, needed by {spec.name}): "
                                        "是否已有一个 bin/run 在运行? (is another bin/run running?)")


def spawn(spec: Process, env: dict[str, str], secrets: dict[str, str]) -> Child:
    log_path = LOGS / f"{spec.name}.log"
    with open(log_path, "ab") as log:
        log.write(f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} start {spec.name}\n".encode())
        log.flush()
        popen = subprocess.Popen(
            [sys.executable, *spec.argv], cwd=ROOT, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            env={**env, **spec.env, **{name: secrets[name] for name in spec.secrets}}, start_new_session=True)
    return Child(spec, popen, log_path, env, secrets)


def signal_group(popen: subprocess.Popen, signum: int) -> None:
    try:
        os.killpg(popen.pid, signum)  # each child leads its own session: this reaches its helpers too
    except ProcessLookupError:
        pass


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def seed_demo(platform: Platform, operator_password: str, gateway_http: str = "", var: Path = VAR,
              **seed_options) -> bool:
    """Seed the demo city unless done before (``var/demo-seeded``); True once it is seeded. A failed seed
    leaves what it did and the passwords it chose (``var/demo-seed.json``): the next start completes it."""
    flag, logins_path, state_path = var / DEMO_FLAG.name, var / DEMO_LOGINS.name, var / DEMO_STATE.name
    if flag.exists():
        return True
    if not (platform.running("gateway") and platform.running("identity")):
        print("演示数据未导入 (demo city not seeded): 需要 gateway 和 identity (needs both running)")
        return False
    from deploy.local import demo_city

    print("正在导入演示城市 汉中市 (seeding the demo city)…", flush=True)
    started = time.monotonic()
    try:
        logins = demo_city.seed(gateway_http or f"{platform.scheme}://127.0.0.1:{GATEWAY_HTTP_PORT}",
                                operator_password=operator_password, state_path=state_path, **seed_options)
    except Exception as error:  # noqa: BLE001 - the platform stays up; the person sees why
        print(f"演示数据导入失败 (demo seeding failed): {error}\n"
              "平台继续运行 (the platform keeps running); 再次运行 bin/run 会从中断处继续导入 "
              "(run bin/run again: it completes the seed).", file=sys.stderr)
        return False
    rows = ["tenant\tusername\tpassword\trole\torg"]
    rows += ["\t".join(str(login[key]) for key in ("tenant", "username", "password", "role", "org")) for login in logins]
    descriptor = os.open(logins_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        out.write("\n".join(rows) + "\n")
    logins_path.chmod(0o600)
    flag.write_text(time.strftime("%Y-%m-%d %H:%M:%S\n"))
    print(f"演示数据已导入 (seeded) in {time.monotonic() - started:.0f} s")
    return True


def print_summary(platform: Platform, env: dict[str, str], operator_password: str) -> None:
    lines = ["", "智慧党建平台已在本机启动 (platform running)" if platform.children
             else "尚无可运行的服务, 只启动了存储 (no service written yet; only the store runs)"]
    if platform.running("gateway"):
        base = f"{platform.scheme}://127.0.0.1:{GATEWAY_HTTP_PORT}"
        lines += [f"  网关 HTTP (gateway HTTP API):  {base}",
                  f"  接口文档 (OpenAPI docs, admin port): {platform.scheme}://127.0.0.1:{GATEWAY_ADMIN_PORT}/docs",
                  f"  手机扫码打开 (QR codes open, PUBLIC_BASE_URL): {env['PUBLIC_BASE_URL']}/m/scan"
                  + ("   自签名证书, 首次打开需在浏览器中确认 (self-signed: accept it once in the browser)"
                     if platform.scheme == "https" and not os.environ.get("GATEWAY_TLS_CERT") else ""),
                  f"  网关 gRPC (gateway gRPC):      127.0.0.1:{GATEWAY_GRPC_PORT}"]
    lines.append("  监控指标 (Prometheus metrics):")
    lines += [f"    {child.spec.name:<14} {child.spec.metrics_url.replace('http:', platform.scheme + ':', 1)}"
              if (child.spec.user or child.spec.name) == "gateway" else f"    {child.spec.name:<14} {child.spec.metrics_url}"
              for child in platform.children]
    lines += [f"  存储 (MONGO_URI): {env['MONGO_URI']}   数据库前缀 (DB_PREFIX): {env['DB_PREFIX']}"]
    lines += [f"  {name} 专用存储 (its own embedded store): {store.uri}" for name, store in platform.stores.items()
              if name != "main"]
    lines += [f"  日志 (logs): {LOGS}/<进程>.log; 进程退出后自动重启, 记录于 (a process that exits is started "
              f"again, logged in) {LOGS}/supervisor.log",
              f"  运维账号 (operator login): tenant_code \"\", username operator, password {operator_password}"]
    if DEMO_LOGINS.exists():
        lines.append(f"  演示账号 (demo logins, {DEMO_LOGINS.relative_to(ROOT)}):")
        for row in DEMO_LOGINS.read_text(encoding="utf-8").splitlines():
            tenant, username, password, role, org = (row.split("\t") + [""] * 5)[:5]
            lines.append(f"    {tenant:<9} {username:<15} {password:<17} {role:<17} {org}")
    lines += [f"  停止 (stop): 按 Ctrl-C, 或 kill -TERM {os.getpid()}; 数据保留在 var/, 下次启动继续使用 "
              "(data stays in var/ for the next start)", ""]
    print("\n".join(lines), flush=True)


def instance_counts(text: str) -> dict[str, int]:
    """``attendance=2,gateway=2`` -> {"attendance": 2, "gateway": 2} (``--instances``)."""
    counts = {}
    for part in filter(None, (piece.strip() for piece in text.split(","))):
        name, _, number = part.partition("=")
        try:
            counts[name.strip()] = int(number)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{part!r}: NAME=N expected") from None
        if counts[name.strip()] < 1:
            raise argparse.ArgumentTypeError(f"{part!r}: at least 1 instance")
    unknown = set(counts) - {spec.name for spec in PROCESSES}
    if unknown:
        raise argparse.ArgumentTypeError(f"no process named {', '.join(sorted(unknown))}")
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bin/run", description="Run the whole platform on this machine.")
    parser.add_argument("--no-demo", action="store_true", help="do not seed the demo city")
    parser.add_argument("--foreground-seconds", type=float, metavar="N", help="stop by itself after N seconds")
    parser.add_argument("--tls", action="store_true",
                        help="serve HTTPS on the LAN with a self-signed certificate (var/keys/): phones need a secure "
                             "context for geolocation (or set GATEWAY_TLS_CERT and GATEWAY_TLS_KEY)")
    parser.add_argument("--instances", metavar="NAME=N[,NAME=N]", default="", type=instance_counts,
                        help="run N instances of these processes, e.g. attendance=2,scoring=2,scoring-points=2,"
                             "gateway=2 (the gateways share the HTTP and gRPC ports)")
    parser.add_argument("--prometheus", action="store_true",
                        help="also run Prometheus (Debian's) with deploy/prometheus.yml and the alert rules of "
                             "deploy/alerts/ on 127.0.0.1:9190, its data under var/prometheus")
    args = parser.parse_args(argv)

    def request_stop(signum, frame):
        raise StopRequested

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    platform, exit_code = Platform(), 0
    prometheus = None
    try:
        operator_password = ensure_operator_password(VAR / "keys")
        env = platform.start({"OPERATOR_PASSWORD": operator_password}, tls=args.tls, instances=args.instances)
        if not args.no_demo:
            seed_demo(platform, operator_password)
        print_summary(platform, env, operator_password)
        if args.prometheus:
            prometheus = local_prometheus.start_beside_platform(VAR, env.get("GATEWAY_TLS_CERT"))
        deadline = time.monotonic() + args.foreground_seconds if args.foreground_seconds else None
        while deadline is None or time.monotonic() < deadline:
            platform.supervise()
            time.sleep(0.5)
    except StopRequested:
        pass
    except (PlatformError, EmbeddedMongoError) as error:
        print(f"\n错误 (error): {error}", file=sys.stderr)
        exit_code = 1
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        print("正在停止 (stopping)…", flush=True)
        local_prometheus.stop(prometheus)
        platform.stop()
        print("已停止 (stopped); 数据保留在 var/ (data kept)", flush=True)
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
