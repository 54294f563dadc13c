"""`bin/run --prometheus`: a real Prometheus (Debian's ``prometheus``, installed by bin/setup) scraping the running
platform with deploy/prometheus.yml and every alert rule of deploy/alerts/, its data under var/prometheus.

It runs the configuration as written, with two changes made in a copy (var/prometheus/prometheus.yml): the rule
files' paths made absolute, and, when the gateway serves HTTPS (``bin/run --tls``), its admin port scraped over
HTTPS trusting the gateway's certificate. No Alertmanager: the alerts show on the page ``/alerts``.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "deploy" / "prometheus.yml"
PROMETHEUS_PORT = 9190          # not 9090: Debian's own prometheus service takes that one where systemd starts it
READY_TIMEOUT_SECONDS = 30


class PrometheusError(RuntimeError):
    pass


def effective_config(source: Path = CONFIG, gateway_cert: str | None = None) -> dict:
    """deploy/prometheus.yml with its rule files absolute and, given the gateway's certificate, the gateway scraped
    over HTTPS."""
    config = yaml.safe_load(source.read_text(encoding="utf-8"))
    config["rule_files"] = [str((source.parent / pattern).resolve()) for pattern in config.get("rule_files", [])]
    if gateway_cert:
        for job in config["scrape_configs"]:
            if job["job_name"] == "gateway":
                job["scheme"] = "https"
                job["tls_config"] = {"ca_file": str(Path(gateway_cert).resolve())}
    return config


def command(binary: str, config_path: Path, data_dir: Path, port: int) -> list[str]:
    return [binary, f"--config.file={config_path}", f"--storage.tsdb.path={data_dir}",
            f"--web.listen-address=127.0.0.1:{port}", "--storage.tsdb.retention.time=15d"]


def start(var: Path, gateway_cert: str | None = None, port: int = PROMETHEUS_PORT,
          binary: str | None = None) -> tuple[subprocess.Popen, str]:
    """Start Prometheus in a session of its own, wait until it is ready; returns the process and its URL."""
    binary = binary or shutil.which("prometheus")
    if not binary:
        raise PrometheusError("prometheus 未安装 (not installed): bin/setup 安装 Debian 的 prometheus 软件包 "
                              "(apt-get install prometheus)")
    data_dir, logs = var / "prometheus", var / "log"
    data_dir.mkdir(parents=True, exist_ok=True)
    logs.mkdir(parents=True, exist_ok=True)
    config_path = data_dir / "prometheus.yml"
    config_path.write_text(yaml.safe_dump(effective_config(gateway_cert=gateway_cert), sort_keys=False))
    log_path = logs / "prometheus.log"
    with open(log_path, "ab") as log:
        popen = subprocess.Popen(command(binary, config_path, data_dir / "data", port), cwd=ROOT,
                                 stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while not ready(url):
        if popen.poll() is not None or time.monotonic() > deadline:
            stop(popen)
            tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-20:])
            raise PrometheusError(f"prometheus 未能启动 (did not start; port {port} in use?); {log_path}:\n{tail}")
        time.sleep(0.3)
    return popen, url


def start_beside_platform(var: Path, gateway_cert: str | None = None) -> subprocess.Popen | None:
    """``start`` for bin/run: its URL printed, or why it did not start (the platform runs on without it)."""
    try:
        popen, url = start(var, gateway_cert)
    except PrometheusError as error:
        print(f"Prometheus 未启动 (not started): {error}", file=sys.stderr, flush=True)
        return None
    print(f"  Prometheus: {url}   告警 (alerts): {url}/alerts   数据 (data): {var / 'prometheus'}\n", flush=True)
    return popen


def ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/-/ready", timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def stop(popen: subprocess.Popen | None, grace: float = 10) -> None:
    if popen is None or popen.poll() is not None:
        return
    popen.terminate()
    try:
        popen.wait(grace)
    except subprocess.TimeoutExpired:
        popen.kill()
        popen.wait()
