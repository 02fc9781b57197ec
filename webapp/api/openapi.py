"""The API's OpenAPI 3.1 document, served at ``/api/v1/openapi.json``.

Its schemas are JSON Schema 2020-12, and they are used, not only published: the request
schemas check every POSTed body before anything else does (unknown fields are refused, so a
client cannot set a response's campaign, stage, channel or status; security.md T14), and the
tests validate every reply against the response schemas.
"""

from __future__ import annotations

import copy
import functools
from typing import Any

from surveys.response_table import TERM_LENGTH

PREFIX = "/api/v1"
#: Longest batch accepted in one request.
BATCH_LIMIT = 100
#: Longest ``Idempotency-Key`` (printable ASCII without spaces).
IDEMPOTENCY_KEY_LENGTH = 128
IDEMPOTENCY_KEY_PATTERN = r"^[A-Za-z0-9._:~+/=-]{1,128}$"
#: Answer slots and characters of a text answer accepted by the schema (the instrument is
#: stricter: it knows its slots and each text item's own maximum).
ANSWER_SLOTS = 1000
TEXT_LENGTH = 20000
#: Largest instrument version in a path (a 32-bit integer column; a larger one is a 404, never
#: an overflow in the database driver).
VERSION_MAX = 2**31 - 1

_TIMESTAMP = {"type": "string", "format": "date-time", "maxLength": 40}
_NULLABLE_TIMESTAMP = {"type": ["string", "null"], "format": "date-time"}

SCHEMAS: dict[str, Any] = {
    "Answers": {
        "type": "object",
        "description": (
            "Answers by slot name, as the CSV response table names its columns: "
            "`<item>__<measure>` (e.g. `rel_promise__perception`), `<item>` for a "
            "single-measure item, `<dimension>__importance` for a points allocation. A number, "
            'a choice key or text; `"NA"` for not applicable; null or absent for not answered.'
        ),
        "maxProperties": ANSWER_SLOTS,
        "propertyNames": {"maxLength": 200},
        "additionalProperties": {
            "type": ["integer", "string", "null"],
            "maxLength": TEXT_LENGTH,
        },
    },
    "ResponseIn": {
        "type": "object",
        "description": "One response, in the CSV format's fields.",
        "required": ["answers"],
        "additionalProperties": False,
        "properties": {
            "answers": {"$ref": "#/components/schemas/Answers"},
            "segment": {
                "type": "string",
                "minLength": 1,
                "maxLength": TERM_LENGTH,
                "description": "Segment key of the respondent (default: the campaign's).",
            },
            "submitted_at": {
                **_TIMESTAMP,
                "description": "When it was answered (ISO 8601; no zone = UTC). Default: now.",
            },
        },
    },
    "BatchIn": {
        "type": "object",
        "description": f"Up to {BATCH_LIMIT} responses, stored all together or not at all.",
        "required": ["responses"],
        "additionalProperties": False,
        "properties": {
            "responses": {
                "type": "array",
                "minItems": 1,
                "maxItems": BATCH_LIMIT,
                "items": {"$ref": "#/components/schemas/ResponseIn"},
            }
        },
    },
    "Created": {
        "type": "object",
        "required": ["id", "campaign", "replayed"],
        "additionalProperties": False,
        "properties": {
            "id": {"type": "string", "description": "The stored response's public id."},
            "campaign": {"type": "string"},
            "replayed": {
                "type": "boolean",
                "description": "True when this repeats the reply to an earlier request with "
                "the same Idempotency-Key (nothing new was stored).",
            },
        },
    },
    "BatchCreated": {
        "type": "object",
        "required": ["campaign", "replayed", "responses"],
        "additionalProperties": False,
        "properties": {
            "campaign": {"type": "string"},
            "replayed": {"type": "boolean"},
            "responses": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["id"],
                    "additionalProperties": False,
                    "properties": {"id": {"type": "string"}},
                },
            },
        },
    },
    "Campaign": {
        "type": "object",
        "required": [
            "key",
            "name",
            "instrument",
            "stage",
            "channel",
            "segment",
            "access",
            "opens_at",
            "closes_at",
            "state",
        ],
        "additionalProperties": False,
        "properties": {
            "key": {"type": "string"},
            "name": {"type": "string"},
            "instrument": {"$ref": "#/components/schemas/InstrumentRef"},
            "stage": {"type": "string"},
            "channel": {"type": "string"},
            "segment": {"type": ["string", "null"]},
            "access": {"enum": ["open", "invitation"]},
            "opens_at": _TIMESTAMP,
            "closes_at": _NULLABLE_TIMESTAMP,
            "state": {"enum": ["open", "not_open_yet", "closed"]},
        },
    },
    "CampaignList": {
        "type": "object",
        "required": ["campaigns"],
        "additionalProperties": False,
        "properties": {
            "campaigns": {"type": "array", "items": {"$ref": "#/components/schemas/Campaign"}}
        },
    },
    "InstrumentRef": {
        "type": "object",
        "required": ["key", "version"],
        "additionalProperties": False,
        "properties": {"key": {"type": "string"}, "version": {"type": "integer"}},
    },
    "InstrumentSummary": {
        "type": "object",
        "required": ["key", "version", "title", "content_hash", "slots"],
        "additionalProperties": False,
        "properties": {
            "key": {"type": "string"},
            "version": {"type": "integer"},
            "title": {"type": "string"},
            "content_hash": {"type": "string"},
            "slots": {
                "type": "array",
                "items": {"type": "string"},
                "description": "Answer slot names, in the CSV response table's column order.",
            },
        },
    },
    "InstrumentList": {
        "type": "object",
        "required": ["instruments"],
        "additionalProperties": False,
        "properties": {
            "instruments": {
                "type": "array",
                "items": {"$ref": "#/components/schemas/InstrumentSummary"},
            }
        },
    },
    "Instrument": {
        "type": "object",
        "required": ["key", "version", "title", "content_hash", "slots", "definition"],
        "additionalProperties": False,
        "properties": {
            "key": {"type": "string"},
            "version": {"type": "integer"},
            "title": {"type": "string"},
            "content_hash": {"type": "string"},
            "slots": {"type": "array", "items": {"type": "string"}},
            "definition": {
                "type": "object",
                "description": "The instrument's canonical JSON (`gapmeter instrument show`).",
                "required": ["key", "version", "items"],
            },
        },
    },
    "Assessment": {
        "type": "object",
        "description": "The statistics engine's assessment (docs/assessment-json.md).",
        "required": [
            "meta",
            "groups",
            "comparisons",
            "trends",
            "slopes",
            "targets",
            "suppressed",
            "notes",
        ],
        "properties": {
            "meta": {
                "type": "object",
                "required": ["instrument", "version", "n_responses", "by", "min_cell"],
                "properties": {
                    "instrument": {"type": "string"},
                    "version": {"type": "integer"},
                    "n_responses": {"type": "integer", "minimum": 0},
                    "by": {"type": "array", "items": {"type": "string"}},
                    "min_cell": {"type": "integer"},
                },
            },
            "groups": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["group", "n", "items", "dimensions"],
                    "properties": {
                        "group": {"type": "object"},
                        "n": {"type": "integer"},
                        "items": {"type": "array"},
                        "dimensions": {"type": "array"},
                    },
                },
            },
            "comparisons": {"type": "array"},
            "trends": {"type": "array"},
            "slopes": {"type": "array"},
            "targets": {"type": "array"},
            "suppressed": {"type": "array"},
            "notes": {"type": "array", "items": {"type": "string"}},
        },
    },
    "Problem": {
        "type": "object",
        "description": "RFC 9457 problem details.",
        "required": ["type", "title", "status", "detail"],
        "additionalProperties": False,
        "properties": {
            "type": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "integer", "minimum": 400, "maximum": 599},
            "detail": {"type": "string"},
            "errors": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["field", "message"],
                    "additionalProperties": False,
                    "properties": {
                        "field": {"type": "string"},
                        "message": {"type": "string"},
                        "index": {"type": "integer", "minimum": 0},
                    },
                },
            },
        },
    },
}


def _json(schema: str) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}


def _problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {
            "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
        },
    }


_COMMON_ERRORS = {
    "401": _problem("No API key, or an unknown or revoked one."),
    "429": _problem("Rate limit of this API key reached; see Retry-After."),
}
_CAMPAIGN_KEY = {
    "name": "key",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "maxLength": 64},
    "description": "The campaign key (the survey link /s/KEY).",
}
_SCOPE_AND_MISSING = {
    "403": _problem("The API key is limited to another campaign."),
    "404": _problem("No such campaign."),
}


PATHS: dict[str, Any] = {
    "/openapi.json": {
        "get": {
            "operationId": "openapi",
            "summary": "This document",
            "responses": {
                "200": {"description": "The OpenAPI document", "content": {"application/json": {}}},
                **_COMMON_ERRORS,
            },
        }
    },
    "/campaigns": {
        "get": {
            "operationId": "listCampaigns",
            "summary": "Campaigns this key may use",
            "responses": {
                "200": {"description": "Campaigns by key", "content": _json("CampaignList")},
                **_COMMON_ERRORS,
            },
        }
    },
    "/campaigns/{key}": {
        "get": {
            "operationId": "getCampaign",
            "summary": "One campaign",
            "parameters": [_CAMPAIGN_KEY],
            "responses": {
                "200": {"description": "The campaign", "content": _json("Campaign")},
                **_SCOPE_AND_MISSING,
                **_COMMON_ERRORS,
            },
        }
    },
    "/campaigns/{key}/responses": {
        "post": {
            "operationId": "postResponses",
            "summary": "Store one response or a batch",
            "description": (
                "Answers are checked against the campaign's instrument exactly as the survey "
                "page checks them (every required question answered, values on the scale, no "
                "unknown slot). The reply 201 comes only after the responses are committed. "
                "Send a new `Idempotency-Key` per submission and the same one when retrying: "
                "a retry stores nothing twice and gets the first reply again; the same key with "
                "a different body is refused (422). A batch is stored whole or not at all."
            ),
            "parameters": [
                _CAMPAIGN_KEY,
                {
                    "name": "Idempotency-Key",
                    "in": "header",
                    "required": True,
                    "schema": {"type": "string", "pattern": IDEMPOTENCY_KEY_PATTERN},
                    "description": "Unique per submission (a UUID, or the call id of a hotline).",
                },
            ],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "oneOf": [
                                {"$ref": "#/components/schemas/ResponseIn"},
                                {"$ref": "#/components/schemas/BatchIn"},
                            ]
                        },
                        "examples": {
                            "hotline": {
                                "summary": "A post-call survey",
                                "value": {
                                    "answers": {"overall": 4, "recommend": 9},
                                    "segment": "consumer",
                                    "submitted_at": "2026-04-05T10:00:00Z",
                                },
                            }
                        },
                    }
                },
            },
            "responses": {
                "201": {
                    "description": "Stored (or the first reply to this Idempotency-Key)",
                    "content": {
                        "application/json": {
                            "schema": {
                                "oneOf": [
                                    {"$ref": "#/components/schemas/Created"},
                                    {"$ref": "#/components/schemas/BatchCreated"},
                                ]
                            }
                        }
                    },
                },
                "400": _problem(
                    "Missing or malformed Idempotency-Key, or a body that is not JSON."
                ),
                **_SCOPE_AND_MISSING,
                "409": _problem("The campaign is not open, or takes personal invitations only."),
                "413": _problem("The body is too large."),
                "415": _problem("The body is not application/json."),
                "422": _problem(
                    "Invalid answers or fields (each listed in `errors` with its batch `index`), "
                    "or an Idempotency-Key already used with a different body."
                ),
                **_COMMON_ERRORS,
            },
        }
    },
    "/campaigns/{key}/assessment": {
        "get": {
            "operationId": "getAssessment",
            "summary": "The campaign's assessment (statistics engine JSON)",
            "parameters": [
                _CAMPAIGN_KEY,
                {
                    "name": "by",
                    "in": "query",
                    "schema": {"type": "string", "maxLength": 100},
                    "description": "Comma-separated breakdown: segment, stage, channel, period.",
                },
                {
                    "name": "period",
                    "in": "query",
                    "schema": {"enum": ["month", "quarter"]},
                },
                {"name": "from", "in": "query", "schema": {"type": "string", "format": "date"}},
                {"name": "to", "in": "query", "schema": {"type": "string", "format": "date"}},
            ],
            "responses": {
                "200": {"description": "The assessment", "content": _json("Assessment")},
                **_SCOPE_AND_MISSING,
                "422": _problem("A parameter the engine cannot use (named in `detail`)."),
                **_COMMON_ERRORS,
            },
        }
    },
    "/instruments": {
        "get": {
            "operationId": "listInstruments",
            "summary": "Instrument versions this key may read",
            "responses": {
                "200": {"description": "Versions by key", "content": _json("InstrumentList")},
                **_COMMON_ERRORS,
            },
        }
    },
    "/instruments/{key}/{version}": {
        "get": {
            "operationId": "getInstrument",
            "summary": "One instrument version with its definition and answer slots",
            "parameters": [
                {"name": "key", "in": "path", "required": True, "schema": {"type": "string"}},
                {
                    "name": "version",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "integer", "minimum": 1, "maximum": VERSION_MAX},
                },
            ],
            "responses": {
                "200": {"description": "The instrument version", "content": _json("Instrument")},
                "403": _problem("The API key is limited to a campaign of another instrument."),
                "404": _problem("No such instrument version."),
                **_COMMON_ERRORS,
            },
        }
    },
}


@functools.cache
def _document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "info": {
            "title": "Gapmeter API",
            "version": "1.0.0",
            "description": (
                "Post survey responses from other systems (e.g. a hotline's post-call survey) "
                "and read campaigns, instruments and assessments. Authenticate with an API key "
                "as a bearer token; errors are RFC 9457 problem documents. See docs/api.md."
            ),
        },
        "servers": [{"url": PREFIX}],
        "security": [{"apiKey": []}],
        "paths": PATHS,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "apiKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An API key from `gapmeter apikey create NAME`.",
                }
            },
        },
    }


def openapi_document() -> dict[str, Any]:
    """A fresh copy of the document (callers may change theirs)."""
    return copy.deepcopy(_document())


def schema_for(name: str) -> dict[str, Any]:
    """``name``'s schema as a standalone JSON Schema (its ``$ref``s resolved against the
    document's components)."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$ref": f"#/components/schemas/{name}",
        "components": {"schemas": SCHEMAS},
    }
