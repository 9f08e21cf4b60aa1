"""``ilm parties`` (the party registry) and ``ilm keys`` (businesses' and partners'
API keys), on the gateway's /v1 API."""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.progress import track

from services.gateway.cli.output import Json, fields, rows, run, show
from services.gateway.cli.session import Client, Refused

parties = typer.Typer(help="The party registry: sites, suppliers, agencies, partners.", no_args_is_help=True)
keys = typer.Typer(help="API keys for businesses and partners (staff).", no_args_is_help=True)
PARTY_FIELDS = ["ref", "kind", "name", "country", "side", "links"]
Opt = Optional[str]


@parties.command("add")
def add_party(ref: str, kind: Annotated[str, typer.Option(help="site, supplier, agency or partner")],
              name: Annotated[str, typer.Option()], country: Annotated[Opt, typer.Option(help="ISO 3166 alpha-2")] = None,
              side: Annotated[Opt, typer.Option(help="an agency's: origin or destination")] = None, json: Json = False):
    """Register a party."""
    body = {k: v for k, v in {"ref": ref, "kind": kind, "name": name, "country": country, "side": side}.items()
            if v is not None}
    run("POST", "/v1/parties", json, lambda p: fields(f"party {ref}", p, PARTY_FIELDS), body=body)


@parties.command("link")
def link_parties(ref: str, link: Annotated[str, typer.Argument(help="site_of, recruits_for or sources_from")],
                 to_ref: str, json: Json = False):
    """Link two parties: REF LINK TO_REF (a partner's supply chain follows)."""
    run("POST", f"/v1/parties/{ref}/links", json, lambda p: fields(f"party {ref}", p, PARTY_FIELDS),
        body={"link": link, "to_ref": to_ref})


@parties.command("list")
def list_parties(kind: Annotated[Opt, typer.Option()] = None, limit: Annotated[int, typer.Option()] = 50,
                 after: Annotated[Opt, typer.Option()] = None, json: Json = False):
    """The registry, a page at a time."""
    run("GET", "/v1/parties", json, lambda page: rows("parties", ["ref", "kind", "name", "country", "links"],
                                                      page["items"], page.get("next")),
        params={"kind": kind, "limit": limit, "after": after})


@parties.command("import")
def import_parties(path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
                   json: Json = False):
    """Register the parties of a CSV file (columns: ref, kind, name, country, side;
    an optional link and to_ref link each row's party), with a progress bar. A row
    the API refuses is reported and the import goes on; the exit code is 1 if any was."""
    with path.open(newline="", encoding="utf-8") as f:
        records = list(csv.DictReader(f))
    client, done, refused = Client(), 0, []
    for number, record in enumerate(track(records, description="importing", disable=json), start=2):
        record = {k: v.strip() for k, v in record.items() if k and v and v.strip()}
        link = {k: record.pop(k) for k in ("link", "to_ref") if k in record}
        try:
            client.call("POST", "/v1/parties", body=record)
            if len(link) == 2:
                client.call("POST", f"/v1/parties/{record['ref']}/links", body=link)
            done += 1
        except Refused as exc:
            refused.append({"line": number, "ref": record.get("ref"), "error": str(exc)})
    show({"imported": done, "refused": refused}, json,
         lambda r: rows(f"imported {r['imported']}, refused {len(r['refused'])}", ["line", "ref", "error"],
                        r["refused"]))
    if refused:
        raise typer.Exit(1)


@keys.command("issue")
def issue_key(party: Annotated[str, typer.Option(help="The party the key acts for.")],
              role: Annotated[str, typer.Option(help="supplier, agency or partner")],
              label: Annotated[str, typer.Option(help="What it is for, e.g. the system that uses it.")],
              json: Json = False):
    """Issue an API key: it is printed this once and stored only hashed."""
    run("POST", "/v1/api-keys", json, lambda k: fields("API key (shown once: store it now)", k,
                                                       ["key_id", "party_ref", "role", "label", "api_key"]),
        body={"party_ref": party, "role": role, "label": label})


@keys.command("list")
def list_keys(party: Annotated[Opt, typer.Option()] = None, json: Json = False):
    """API keys and their last use."""
    run("GET", "/v1/api-keys", json, lambda page: rows("API keys", ["key_id", "party_ref", "role", "label", "revoked_at",
                                                                   "last_used_at"], page["items"], page.get("next")),
        params={"party_ref": party})


@keys.command("revoke")
def revoke_key(key_id: str, json: Json = False):
    """Revoke an API key: it stops working at once."""
    run("DELETE", f"/v1/api-keys/{key_id}", json, lambda k: fields(f"key {key_id}", k, ["key_id", "party_ref", "revoked_at"]))
