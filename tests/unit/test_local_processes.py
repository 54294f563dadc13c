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
