"""Patterns applied to a worker's text cannot backtrack without bound: proved by their
structure (each match is at most MAX_WIDTH characters wide, so a search is linear)
and by the length caps the schemas apply before any pattern runs, not by timing."""
import re

import pytest
from hypothesis import given, settings, strategies as st
from marshmallow import fields, validate

from services.intake import domain, phrases
from services.intake.schemas import Contact, FollowUp, GrievanceReport, ValidationAnswer, Withdrawal, WorkerProof
from shared.contracts.common import LengthFirst
from shared.text_patterns import MAX_WIDTH, FollowedBy, bounded

OLD_CHILD_LABOUR = re.compile(r"\bchild(ren)?\b.*\bwork", re.IGNORECASE)   # 0.5 s on 10,000 crafted characters


def test_an_unbounded_pattern_is_refused():
    for pattern in (r"\bchild(ren)?\b.*\bwork", r"(a+)+$", r"x{2,}"):
        with pytest.raises(ValueError):
            bounded(pattern)


def test_every_pattern_run_on_worker_text_is_bounded():
    patterns = [*phrases.ALL_PATTERNS, *domain.CRITICAL_PATTERNS]
    parts = [q for p in patterns for q in ((p.first, p.then) if isinstance(p, FollowedBy) else (p,))]
    assert all(isinstance(p, re.Pattern) for p in parts)
    assert all(re._parser.parse(p.pattern, p.flags).getwidth()[1] <= MAX_WIDTH for p in parts)


def _string_fields(schema):
    for name, field in schema._declared_fields.items():
        if isinstance(field, fields.Nested):
            yield from _string_fields(field.nested)
        elif isinstance(field, fields.List):
            yield name, field.inner
        elif isinstance(field, fields.String):
            yield name, field


@pytest.mark.parametrize("schema", [GrievanceReport, Contact, ValidationAnswer, FollowUp, WorkerProof, Withdrawal])
def test_every_free_text_field_is_length_capped_before_its_pattern(schema):
    """A field is either a closed choice, or capped, and any pattern on it is bounded
    or runs only after the cap (LengthFirst)."""
    for name, field in _string_fields(schema):
        kinds = {type(v) for v in field.validators}
        if validate.OneOf in kinds:
            continue
        caps = [v.max for v in field.validators if isinstance(v, validate.Length) and v.max]
        widths = [re._parser.parse(v.regex.pattern, v.regex.flags).getwidth()[1]
                  for v in field.validators if isinstance(v, validate.Regexp)]
        assert caps or widths, f"{schema.__name__}.{name} has no length cap"
        assert all(w <= MAX_WIDTH for w in widths) or isinstance(field, LengthFirst), name
        if isinstance(field, fields.Email):
            assert isinstance(field, LengthFirst) and caps == [254], name


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["child", "children", "Child", "work", "worker", "homework", " ", "\n", "x", "."]),
                max_size=12).map("".join))
def test_followed_by_means_what_the_unbounded_pattern_meant(text):
    assert bool(domain.CRITICAL_PATTERNS[0].search(text)) == bool(OLD_CHILD_LABOUR.search(text))


@pytest.mark.parametrize("text", ["child " * 1666, "children\n" * 1111, "x" * 9_990 + " child", "ขู่" * 3333])
def test_adversarial_text_of_the_maximum_length_is_classified(text):
    """The texts that made the old pattern scan to the end from every start (no
    timing here: linearity follows from the two tests above; bench/ measures speed)."""
    text = text[:10_000]
    assert len(text) <= GrievanceReport._declared_fields["text"].validators[0].max
    severity, _ = domain.classify({"text": text, "work_area": "working_conditions"})
    assert severity in ("critical", "normal")
