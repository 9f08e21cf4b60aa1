"""Pure helpers for the services' domain modules (no I/O)."""
from dataclasses import asdict, fields


class Aggregate:
    """Mixin for dataclass aggregates. ``raised`` holds the (contract, data) events the
    last commands raised, drained into the outbox by shared.unit_of_work; everything
    else is the stored state."""

    def to_dict(self) -> dict:
        data = asdict(self)
        data.pop("raised", None)
        return data

    @classmethod
    def from_dict(cls, data: dict):
        names = {f.name for f in fields(cls)} - {"raised"}
        return cls(**{k: data[k] for k in names if k in data})
