"""``@rpc`` for every service: nameko's, with ServiceError marked as expected, so a refused request
(a scan outside the fence, a bad argument) is logged as an expected outcome, not as a failure."""
from nameko.rpc import rpc as nameko_rpc

from servicekit.errors import ServiceError

rpc = nameko_rpc(expected_exceptions=(ServiceError,))
