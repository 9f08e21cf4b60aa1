"""Who may read a worker's identity on a case, and the trail of each reveal (pure: no
keys, no I/O; services/intake/reveal.py opens the sealed values).

- Staff (case worker, safeguarding lead) may, with a reason: the worker's words and
  contact details.
- The business the case is referred to may read the contact details only while the
  worker's consent for this case is recorded (ticked on the report, or recorded by
  staff with how it was given); intake learns the business from ``case.status_changed``.
- Each reveal is a chained entry on the grievance's trail (who, why, on what basis)
  and raises ``identity.revealed`` (who and when, never the reason's text) for the
  case's timeline. After crypto-erasure there is nothing to reveal."""
from __future__ import annotations

from datetime import datetime

from shared import audit_chain
from shared.contracts.common import BUSINESS_ROLES, STAFF_ROLES
from shared.contracts.events import IDENTITY_REVEALED, iso
from shared.errors import Forbidden, NotFound

STAFF, WORKER_CONSENT = "staff_role", "worker_consent"


class RevealRules:
    """Mixin of the grievance (services/intake/domain.py): its ``consent_to_share_identity``,
    ``business_ref``, ``erased_at``, ``audit`` and ``raised``."""

    def reveal_basis(self, actor: dict) -> str:
        """Why this actor may see the identity (STAFF or WORKER_CONSENT); raises otherwise."""
        if self.erased_at:
            raise NotFound(f"case {self.case_ref}: the worker's identity was erased ({self.erase_why}, "
                           f"{self.erased_at}); nobody can reveal it any more")
        if actor["role"] in STAFF_ROLES:
            return STAFF
        if actor["role"] in BUSINESS_ROLES:
            if not self.business_ref or actor["id"] != self.business_ref:
                raise Forbidden(f"case {self.case_ref} is not referred to {actor['id']}")
            if not self.consent_to_share_identity:
                raise Forbidden(f"case {self.case_ref}: the worker's consent to share their identity with "
                                "the business is not recorded")
            return WORKER_CONSENT
        raise Forbidden(f"case {self.case_ref}: role {actor['role']} never sees the worker's identity")

    def record_reveal(self, actor: dict, reason: str, now: datetime) -> str:
        basis = self.reveal_basis(actor)
        who = {"id": actor["id"], "role": actor["role"]}
        self._trail({"action": "reveal_identity", "actor": who, "reason": reason, "basis": basis, "at": iso(now)})
        self.raised.append((IDENTITY_REVEALED, {"actor": who, "basis": basis, "revealed_at": iso(now)}))
        return basis

    def record_consent(self, given: bool, how: str, actor: dict, now: datetime) -> bool:
        """Staff record the worker's consent (or its withdrawal) and how it was given;
        False when it was so already (nothing recorded)."""
        if self.erased_at:
            raise NotFound(f"case {self.case_ref}: the worker's identity was erased; there is nothing to share")
        if self.consent_to_share_identity == given:
            return False
        self.consent_to_share_identity = given
        self._trail({"action": "consent_given" if given else "consent_withdrawn", "how": how,
                     "actor": {"id": actor["id"], "role": actor["role"]}, "at": iso(now)})
        return True

    def learn_business(self, business_ref: str | None) -> bool:
        """The business the case is referred to (from remediation's events)."""
        if not business_ref or business_ref == self.business_ref:
            return False
        self.business_ref = business_ref
        return True

    def _trail(self, entry: dict) -> None:
        self.audit.append(audit_chain.link(self.audit, entry))
