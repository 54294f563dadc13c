"""nameko's service container, with each worker's request id current while it runs (``servicekit.request_ids``).

The runner names it in ``SERVICE_CONTAINER_CLS``. A worker runs on a green thread of its own, whose context starts
empty, so the id set here is that worker's alone. nameko puts every header of the call in the worker's data: the
id (``nameko.request_id``, passed on with the worker's own calls) and, for a gateway batch, its requests' ids
(``pb-request-ids``, taken out here so they are never passed on).
"""
from __future__ import annotations

from nameko.containers import ServiceContainer

from servicekit import request_ids


class Container(ServiceContainer):
    def _run_worker(self, worker_ctx, handle_result):
        request_ids.CURRENT.set(request_ids.well_formed(worker_ctx.data.get(request_ids.CONTEXT_KEY)))
        request_ids.ITEMS.set(request_ids.received_items(
            {request_ids.ITEMS_HEADER: worker_ctx.data.pop(request_ids.ITEMS_HEADER, None)}))
        return super()._run_worker(worker_ctx, handle_result)
