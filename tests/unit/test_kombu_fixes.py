import importlib
import sys

import pytest

from servicekit.messaging.kombu_fixes import skip_missing_librabbitmq


def test_a_missing_module_is_marked_absent_and_its_import_fails_at_once():
    name = "pb_no_such_module_xyz"
    try:
        assert skip_missing_librabbitmq(name) is True
        assert sys.modules[name] is None
        with pytest.raises(ImportError):
            importlib.import_module(name)
    finally:
        sys.modules.pop(name, None)


def test_an_installed_module_is_left_alone():
    assert skip_missing_librabbitmq("json") is False
    assert sys.modules["json"] is not None


def test_kombu_still_chooses_py_amqp_after_the_mark():
    from kombu import Connection
    from kombu.transport import supports_librabbitmq

    skip_missing_librabbitmq()
    assert not supports_librabbitmq()
    assert Connection("amqp://guest:guest@127.0.0.1:5672//").transport_cls == "amqp"
