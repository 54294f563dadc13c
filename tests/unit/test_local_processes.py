"""What `bin/run` starts: planned services not written yet are left out without a word."""
from dataclasses import replace

from deploy.local.processes import PROCESSES
from deploy.local.up import runnable_processes


def test_a_start_says_nothing_of_planned_services_not_written_yet(capsys):
    runnable = runnable_processes(PROCESSES)
    names = {spec.name for spec in runnable}
    assert {"identity", "attendance", "scoring", "scoring-points", "content", "volunteer", "gateway"} <= names
    assert capsys.readouterr().out == ""


def test_a_planned_row_whose_modules_are_missing_is_left_out_without_a_word(capsys):
    planned = replace(PROCESSES[0], name="later", needs=("services.later.service",), planned=True)
    assert runnable_processes([planned]) == []
    assert capsys.readouterr().out == ""


def test_a_missing_module_of_a_platform_service_is_still_reported(capsys):
    broken = replace(PROCESSES[0], name="identity-typo", needs=("services.identity.servic",))
    assert runnable_processes([broken]) == []
    assert "identity-typo" in capsys.readouterr().out


def test_instances_of_a_service_get_their_own_metrics_ports_and_log_in_as_the_first():
    from deploy.local.processes import with_instances
    specs = {spec.name: spec for spec in with_instances(PROCESSES, {"attendance": 2, "scoring-points": 3})}
    first, second = specs["attendance"], specs["attendance-2"]
    assert second.argv == first.argv and second.user == "attendance" and not first.user
    assert second.metrics_port == first.metrics_port + 100 and second.env["METRICS_PORT"] == str(second.metrics_port)
    assert specs["scoring-points-3"].metrics_port == specs["scoring-points"].metrics_port + 200
    assert specs["scoring-points-3"].env["PROCESS_NICE"] == specs["scoring-points"].env["PROCESS_NICE"]
    ports = [port for spec in specs.values() for port in [spec.metrics_port]]
    assert len(ports) == len(set(ports))


def test_gateway_instances_share_the_public_ports_and_only_the_first_keeps_the_admin_grpc_port():
    from deploy.local.processes import with_instances
    specs = {spec.name: spec for spec in with_instances(PROCESSES, {"gateway": 2})}
    first, second = specs["gateway"], specs["gateway-2"]
    for key in ("GATEWAY_HTTP_PORT", "GATEWAY_GRPC_PORT"):
        assert first.env[key] == second.env[key]
    assert first.env["GATEWAY_REUSE_PORT"] == second.env["GATEWAY_REUSE_PORT"] == "on"
    assert second.env["GATEWAY_ADMIN_PORT"] == str(second.metrics_port) != first.env["GATEWAY_ADMIN_PORT"]
    assert second.env["GATEWAY_ADMIN_GRPC_PORT"] == "off" and second.user == "gateway"
    assert "GATEWAY_REUSE_PORT" not in dict(with_instances(PROCESSES, {})[-1].env)     # one gateway: as before


def test_the_instances_option_names_processes_and_counts():
    import argparse

    import pytest

    from deploy.local.up import instance_counts
    assert instance_counts("attendance=2, gateway=2") == {"attendance": 2, "gateway": 2}
    assert instance_counts("") == {}
    for wrong in ("attendance", "attendance=0", "nobody=2"):
        with pytest.raises(argparse.ArgumentTypeError):
            instance_counts(wrong)
