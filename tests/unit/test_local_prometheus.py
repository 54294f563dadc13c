"""`bin/run --prometheus` (deploy/local/prometheus.py): the configuration it runs, and a real Prometheus loading
every alert rule of deploy/alerts/."""
from __future__ import annotations

import json
import shutil
import socket
import urllib.request
from pathlib import Path

import pytest
import yaml

from deploy.local import prometheus
from deploy.local.processes import PROCESSES


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_the_rule_files_become_absolute_and_find_every_rule_file():
    config = prometheus.effective_config()
    [pattern] = config["rule_files"]
    assert Path(pattern).is_absolute()
    found = {path.name for path in Path(pattern).parent.glob(Path(pattern).name)}
    assert {"platform.yml", "login-abuse.yml"} <= found


def test_every_process_bin_run_starts_is_scraped_and_the_gateway_over_https_with_tls():
    config = prometheus.effective_config()
    targets = {target for job in config["scrape_configs"] for group in job["static_configs"]
               for target in group["targets"]}
    assert {f"127.0.0.1:{spec.metrics_port}" for spec in PROCESSES} <= targets
    assert all("scheme" not in job for job in config["scrape_configs"])
    secure = {job["job_name"]: job for job in prometheus.effective_config(gateway_cert="var/keys/gateway.crt")
              ["scrape_configs"]}
    assert secure["gateway"]["scheme"] == "https"
    assert Path(secure["gateway"]["tls_config"]["ca_file"]).is_absolute()
    assert "scheme" not in secure["services"]


def test_a_real_prometheus_starts_with_every_alert_loaded_and_stops(tmp_path):
    if not shutil.which("prometheus"):
        pytest.skip("prometheus is not installed: bin/setup installs it (Debian's prometheus package)")
    expected = {rule["alert"] for path in (prometheus.ROOT / "deploy" / "alerts").glob("*.yml")
                for group in yaml.safe_load(path.read_text())["groups"] for rule in group["rules"] if "alert" in rule}
    process, url = prometheus.start(tmp_path, port=free_port())
    try:
        with urllib.request.urlopen(f"{url}/api/v1/rules?type=alert", timeout=5) as response:
            groups = json.load(response)["data"]["groups"]
        assert {rule["name"] for group in groups for rule in group["rules"]} == expected
        assert (tmp_path / "prometheus" / "data").is_dir() and (tmp_path / "log" / "prometheus.log").exists()
    finally:
        prometheus.stop(process)
    assert process.poll() is not None
