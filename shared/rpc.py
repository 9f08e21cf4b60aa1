"""The RPC entrypoints every service uses: ``@command(Schema)`` for a use case that
changes something, ``@query(Schema)`` for one that only reads.

One decorator instead of ``@rpc`` plus hand-written checks: the method's single
``payload`` argument is validated against the contract schema before the method
runs (InvalidInput names the bad fields and nothing is changed), and the shared
caller errors are declared expected, so nameko logs them as warnings and the
caller gets the same exception class back. The two differ only in name, so a reader
of a service sees at once which entrypoints write.
"""
import functools

from nameko.rpc import rpc

from shared.contracts.common import load
from shared.errors import EXPECTED
from shared.logging import bind


def _validated(schema_cls):
    def wrap(fn):
        @functools.wraps(fn)
        def checked(self, payload):
            loaded = load(schema_cls, payload)
            bind(case_id=loaded.get("case_ref"), actor_role=(loaded.get("actor") or {}).get("role"))
            return fn(self, loaded)
        return rpc(expected_exceptions=EXPECTED)(checked)
    return wrap


command = _validated
query = _validated
