"""nameko's ``ClusterRpcProxy`` with its reply queues named after the process that calls.

nameko names every standalone proxy's reply queue ``rpc.reply-standalone_rpc_proxy-<uuid>``, whoever uses it, so
a broker user allowed to read one process's replies could read every process's (a service learns the gateway's
reply uuid from the calls it answers). Named after the caller (``rpc.reply-gateway-<uuid>``), each process's
broker user reads only its own replies (servicekit.messaging.broker_access).
"""
from __future__ import annotations

from functools import lru_cache

from nameko.standalone.rpc import ClusterRpcProxy


@lru_cache(maxsize=None)
def named_cluster_rpc_proxy(caller: str) -> type[ClusterRpcProxy]:
    """The ``ClusterRpcProxy`` class whose reply queues are ``rpc.reply-<caller>-<uuid>``."""
    container = type("ServiceContainer", (ClusterRpcProxy.ServiceContainer,), {"service_name": caller})
    return type(f"ClusterRpcProxy_{caller}", (ClusterRpcProxy,), {"ServiceContainer": container})


def cluster_rpc_proxy(config: dict, caller: str, **kwargs) -> ClusterRpcProxy:
    """``ClusterRpcProxy(config, **kwargs)`` whose reply queues are ``rpc.reply-<caller>-<uuid>``."""
    return named_cluster_rpc_proxy(caller)(config, **kwargs)
