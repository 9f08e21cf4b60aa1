"""Verify a case's hash-chained audit trail against the store and name the first
entry that was edited, removed, inserted or moved (shared/audit_chain.py).

    python -m services.remediation.audit_check verify CASE_REF

Reads MONGO_URI / MONGO_DB_PREFIX (shared/config.py). Prints one JSON line; exit
code 0: intact, 1: tampered, 2: no such case."""
from __future__ import annotations

import argparse
import json
import sys

from shared import audit_chain
from shared.errors import NotFound

INTACT, TAMPERED, NOT_FOUND = 0, 1, 2


def verification(doc: dict | None, case_ref: str) -> dict:
    """What a verification says of a stored case document (also the staff RPC's answer)."""
    if doc is None:
        raise NotFound(f"case {case_ref} not found")
    trail = doc.get("audit") or []
    found = audit_chain.verify(trail)
    return {"case_ref": case_ref, "entries": len(trail), "intact": found is None,
            "chained_from": next((i for i, a in enumerate(trail) if "hash" in a), None),
            "head": audit_chain.head(trail),
            "first_bad": None if found is None else {
                "index": found.index, "problem": found.problem,
                "action": trail[found.index].get("action"), "at": trail[found.index].get("at")}}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.remediation.audit_check",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=("verify",))
    parser.add_argument("case_ref")
    args = parser.parse_args(argv)
    from services.remediation.store import CaseStore
    from shared.repository import database
    try:
        result = verification(CaseStore(database("remediation")).load(args.case_ref), args.case_ref)
    except NotFound as exc:
        print(json.dumps({"case_ref": args.case_ref, "error": str(exc)}))
        return NOT_FOUND
    print(json.dumps(result, sort_keys=True))
    return INTACT if result["intact"] else TAMPERED


if __name__ == "__main__":
    sys.exit(main())
