"""What a lost or refused broker connection raises between a call and its answer: kombu's wrapping of it, py-amqp's
own, and the raw socket errors. One definition for the gateway's RPC client and the services' responders."""
from __future__ import annotations

from amqp.exceptions import ConnectionError as AmqpConnectionError
from kombu.exceptions import OperationalError

BROKER_GONE = (OperationalError, AmqpConnectionError, OSError)
