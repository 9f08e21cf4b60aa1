"""OpenAPI 3.1 for a service's ``@json_http`` routes, and its human-readable page.

The document is built (apispec's marshmallow plugin) from the routes' own
declarations: the path, body and answer schemas the entrypoint validates and dumps
with, and the problems it may answer. A route with a body may also answer 400, 413
and 415; one with path values, 400. A service mixes in ``ApiDocs`` to serve
``GET /openapi.json`` and ``GET /docs`` (HTML rendered here from the document: no
script, nothing fetched at run time).
"""
from __future__ import annotations

import functools
import html
import inspect
import json
import re

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import Schema, fields
from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR
from werkzeug.wrappers import Response

from shared.http import JsonHttp, json_http
from shared.problems import PROBLEM_JSON, TYPES

BODY_PROBLEMS, PATH_PROBLEMS = (400, 413, 415), (400,)
_WERKZEUG_VARIABLE = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


class Problem(Schema):
    """RFC 9457 problem details (shared/problems.py)."""

    type = fields.String(required=True, metadata={"description": "A URI naming the kind of problem, or about:blank."})
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String(metadata={"description": "What went wrong (never given for a 500)."})
    instance = fields.String(required=True, metadata={"description": "The path of the request."})
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()),
                         metadata={"description": "Invalid input: each bad field and what is wrong with it."})


def routes(service_cls) -> list[tuple[str, JsonHttp]]:
    """(method name, entrypoint) of each documented json_http route, in source order."""
    found = []
    for name, method in inspect.getmembers(service_cls, inspect.isfunction):
        if name in vars(ApiDocs):
            continue
        for entrypoint in getattr(method, ENTRYPOINT_EXTENSIONS_ATTR, ()):
            if isinstance(entrypoint, JsonHttp) and entrypoint.documented:
                found.append((inspect.getsourcelines(method)[1], name, entrypoint))
    return [(name, entrypoint) for _, name, entrypoint in sorted(found, key=lambda f: f[:2])]


def build(service_cls, title: str, version: str, description: str = "") -> dict:
    spec = APISpec(title=title, version=version, openapi_version="3.1.0", plugins=[MarshmallowPlugin()],
                   info={"description": description})
    spec.components.schema("Problem", schema=Problem)
    paths: dict[str, dict] = {}
    for name, route in routes(service_cls):
        summary, _, description = (inspect.getdoc(getattr(service_cls, name)) or name).partition("\n")
        for verb in route.method.split(","):
            paths.setdefault(_WERKZEUG_VARIABLE.sub(r"{\1}", route.url), {})[verb.lower()] = operation(
                name, summary, description, path=route.path_schema, body=route.body_schema or route.reads,
                answers=route.answers, problems=route.problems)
    # Operations a service serves through a catch-all route describe themselves.
    for path, verb, described in getattr(service_cls, "api_operations", lambda: ())():
        paths.setdefault(path, {})[verb] = described
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    # What the service sends to its subscribers (OpenAPI 3.1 ``webhooks``).
    webhooks = {}
    for name, schema, headers in getattr(service_cls, "api_webhooks", lambda: ())():
        spec.components.schema(schema.__name__, schema=schema)
        webhooks[name] = {"post": {
            "operationId": f"webhook.{name}", "summary": f"`{name}` delivered to a subscribed endpoint",
            "parameters": [{"in": "header", "name": h, "required": True, "description": d, "schema": {"type": "string"}}
                           for h, d in headers.items()],
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": {"$ref": f"#/components/schemas/{schema.__name__}"}}}},
            "responses": {"2XX": {"description": "Received: any 2xx ends the delivery."},
                          "410": {"description": "Gone: the endpoint is disabled (no more deliveries)."}}}}
    document = spec.to_dict()
    if webhooks:
        document["webhooks"] = webhooks
    return document


def operation(operation_id: str, summary: str, description: str = "", *, path=None, query=None, body=None,
              answers=None, problems=()) -> dict:
    """One OpenAPI operation from schemas: path and query parameters, the JSON body,
    the answers (status -> schema, or a JSON schema dict) and the problems it may
    answer (a body adds 400/413/415, path values 400)."""
    op = {"operationId": operation_id, "summary": summary.strip(), "responses": {}}
    if description.strip():
        op["description"] = description.strip()
    problems = set(problems)
    parameters = [{"in": where, "schema": schema} for where, schema in (("path", path), ("query", query))
                  if schema is not None]
    if parameters:
        op["parameters"] = parameters
        problems.update(PATH_PROBLEMS)
    if body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
        problems.update(BODY_PROBLEMS)
    for status, schema in sorted((answers or {}).items()):
        described = getattr(schema, "__doc__", None) if not isinstance(schema, dict) else schema.get("description")
        op["responses"][str(status)] = {"description": (described or "Done.").strip(),
                                        "content": {"application/json": {"schema": schema}}}
    for status in sorted(problems):
        op["responses"][str(status)] = _problem_response(status)
    return op


def _problem_response(status: int) -> dict:
    answer = {"description": TYPES[status][1] if status in TYPES else "Error",
              "content": {PROBLEM_JSON: {"schema": Problem}}}
    if status == 429:
        answer["headers"] = {"Retry-After": {"description": "Seconds to wait before trying again.",
                                             "schema": {"type": "integer", "minimum": 1}}}
    return answer


class ApiDocs:
    """Mixed into a service class: its routes' document and their human docs."""

    api_title, api_version, api_description = "API", "1", ""

    @json_http("GET", "/openapi.json")
    def openapi_document(self, request):
        return Response(json.dumps(document(type(self))), mimetype="application/json")

    @json_http("GET", "/docs")
    def api_docs(self, request):
        return Response(docs_page(document(type(self))), mimetype="text/html")


@functools.cache
def document(service_cls) -> dict:
    return build(service_cls, service_cls.api_title, service_cls.api_version, service_cls.api_description)


# --- the human docs page ----------------------------------------------------------------

_STYLE = ("body{font:15px/1.5 system-ui,sans-serif;max-width:60em;margin:2em auto;padding:0 1em;color:#222}"
          "code{background:#f3f3f3;padding:0 .2em}table{border-collapse:collapse;margin:.5em 0}"
          "td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left;vertical-align:top}"
          "section{border-top:1px solid #ddd;margin-top:1.5em}")


def docs_page(spec: dict) -> str:
    e, info = html.escape, spec["info"]
    out = [f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{e(info['title'])}</title>"
           f"<style>{_STYLE}</style></head><body><h1>{e(info['title'])} <small>{e(info['version'])}</small></h1>",
           f"<p>{e(info.get('description', ''))}</p><p>Machine-readable: <a href='openapi.json'>openapi.json</a>"
           " (OpenAPI 3.1). Every error is <code>application/problem+json</code> (RFC 9457).</p>"]
    for path, operations in spec["paths"].items():
        for verb, op in operations.items():
            out.append(f"<section><h2><code>{verb.upper()} {e(path)}</code></h2><p>{e(op.get('summary', ''))}</p>")
            if op.get("description"):
                out.append(f"<p>{e(op['description'])}</p>")
            for param in op.get("parameters", []):
                out.append(f"<p>Path: <code>{e(param['name'])}</code> {_type(param['schema'])}</p>")
            if "requestBody" in op:
                out.append(f"<p>Body (application/json): {_type(op['requestBody']['content']['application/json']['schema'])}</p>")
            out.append("<table><tr><th>status</th><th>meaning</th><th>body</th></tr>")
            for status, answer in op["responses"].items():
                media, body = next(iter(answer.get("content", {"": {"schema": {}}}).items()))
                out.append(f"<tr><td>{e(status)}</td><td>{e(answer['description'])}</td>"
                           f"<td>{e(media)} {_type(body['schema'])}</td></tr>")
            out.append("</table></section>")
    out.append("<section><h2>Schemas</h2>")
    for name, schema in spec["components"]["schemas"].items():
        required = set(schema.get("required", []))
        out.append(f"<h3 id='{e(name)}'>{e(name)}</h3><p>{e(schema.get('description', ''))}</p><table>"
                   "<tr><th>field</th><th>type</th><th>required</th><th>notes</th></tr>")
        for field, prop in schema.get("properties", {}).items():
            out.append(f"<tr><td><code>{e(field)}</code></td><td>{_type(prop)}</td>"
                       f"<td>{'yes' if field in required else ''}</td><td>{_notes(prop)}</td></tr>")
        out.append("</table>")
    out.append("</section></body></html>")
    return "".join(out)


def _type(schema: dict) -> str:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return f"<a href='#{html.escape(name)}'>{html.escape(name)}</a>"
    for combined in ("anyOf", "oneOf", "allOf"):
        if combined in schema:
            return " or ".join(_type(s) for s in schema[combined])
    kind = schema.get("type", "any")
    kind = " or ".join(kind) if isinstance(kind, list) else kind
    if "items" in schema:
        return f"{html.escape(kind)} of {_type(schema['items'])}"
    return html.escape(kind)


def _notes(prop: dict) -> str:
    notes = [prop.get("description", "")]
    if "enum" in prop:
        notes.append("one of " + ", ".join(str(v) for v in prop["enum"] if v is not None))
    for key in ("minLength", "maxLength", "pattern", "default"):
        if key in prop:
            notes.append(f"{key} {json.dumps(prop[key])}")
    return html.escape("; ".join(n for n in notes if n))
