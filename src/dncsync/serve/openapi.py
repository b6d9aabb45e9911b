"""The OpenAPI pieces the intake API declares: request bodies and answers, as JSON Schema.

The handlers read their bodies themselves (the contract's error shapes, not FastAPI's), so
the document states the bodies here; schemathesis tests the API against it.
"""

from __future__ import annotations

from typing import Any

_TEXT = {"type": "string", "maxLength": 200}

OPTOUT: dict[str, Any] = {
    "type": "object",
    "required": ["phone"],
    "properties": {
        "phone": {**_TEXT, "minLength": 1, "description": "Any form; normalized as validate does"},
        "reason": {**_TEXT, "description": "A reason code or alias; default CUSTOMER_REQUESTED"},
        "source": {**_TEXT, "description": "Where it came from: ivr, sms, agent, web..."},
        "received_at": {
            **_TEXT,
            "description": "RFC 3339; default: when the request arrived",
        },
        "scope": {**_TEXT, "description": "A free label (brand, division)"},
    },
}

OPTOUT_BODY: dict[str, Any] = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "oneOf": [
                    OPTOUT,
                    {
                        "type": "object",
                        "required": ["optouts"],
                        "properties": {
                            "optouts": {
                                "type": "array",
                                "items": OPTOUT,
                                "minItems": 1,
                                "maxItems": 1000,
                            }
                        },
                    },
                ]
            }
        }
    },
}

WITHDRAW_BODY: dict[str, Any] = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["reason"],
                "properties": {"reason": {"type": "string", "minLength": 1, "maxLength": 500}},
            }
        }
    },
}

LOOKUP_BODY: dict[str, Any] = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["phone"],
                "properties": {"phone": {**_TEXT, "minLength": 1}},
            }
        }
    },
}

_ACCEPTED = {
    "type": "object",
    "required": ["id", "phone", "received_at", "deadline", "status"],
    "properties": {
        "id": {"type": "string"},
        "phone": {"type": "string", "description": "E.164"},
        "received_at": {"type": "string", "format": "date-time"},
        "deadline": {"type": "string", "format": "date"},
        "status": {"type": "string", "enum": ["pending"]},
    },
}

OPTOUT_ANSWER: dict[str, Any] = {
    "description": "Committed: one opt-out, or a batch's accepted and rejected",
    "content": {
        "application/json": {
            "schema": {
                "oneOf": [
                    _ACCEPTED,
                    {
                        "type": "object",
                        "required": ["accepted", "rejected"],
                        "properties": {
                            "accepted": {"type": "array", "items": _ACCEPTED},
                            "rejected": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "required": ["index", "reason"],
                                    "properties": {
                                        "index": {"type": "integer"},
                                        "reason": {"type": "string"},
                                    },
                                },
                            },
                        },
                    },
                ]
            }
        }
    },
}

REQUEST_ANSWER: dict[str, Any] = {
    "description": "The request, with each target's status and when it was held",
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["id", "phone", "received_at", "deadline", "status", "targets"],
                "properties": {
                    "id": {"type": "string"},
                    "phone": {"type": "string"},
                    "status": {"type": "string"},
                    "received_at": {"type": "string"},
                    "deadline": {"type": "string"},
                    "targets": {
                        "type": "object",
                        "additionalProperties": {
                            "type": "object",
                            "required": ["status", "held_at"],
                            "properties": {
                                "status": {
                                    "type": "string",
                                    "enum": ["pending", "held", "failed", "skipped"],
                                },
                                "held_at": {"type": ["string", "null"]},
                            },
                        },
                    },
                },
            }
        }
    },
}

_ERROR = {
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["error", "reason"],
                "properties": {"error": {"type": "string"}, "reason": {"type": "string"}},
            }
        }
    }
}

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Not JSON, or a bad Idempotency-Key", **_ERROR},
    401: {"description": "No API key, or an unknown one", **_ERROR},
    404: {"description": "No such request", **_ERROR},
    409: {"description": "The Idempotency-Key was used with another body", **_ERROR},
    413: {"description": "The body is larger than the limit", **_ERROR},
    422: {"description": "An unusable phone, or a malformed request", **_ERROR},
    429: {"description": "The API key's rate limit; see Retry-After", **_ERROR},
    503: {"description": "Shutting down, or the request could not be stored", **_ERROR},
}

# The SMS provider's inbound-message webhook: a form, signed (X-Twilio-Signature).
SMS_WEBHOOK_BODY: dict[str, Any] = {
    "required": True,
    "content": {
        "application/x-www-form-urlencoded": {
            "schema": {
                "type": "object",
                "properties": {
                    "From": {"type": "string"},
                    "To": {"type": "string"},
                    "Body": {"type": "string"},
                    "MessageSid": {"type": "string"},
                },
            }
        }
    },
}
SMS_WEBHOOK_ANSWERS: dict[int | str, dict[str, Any]] = {
    200: {"description": "TwiML: empty, or the configured reply", "content": {"text/xml": {}}},
    403: {"description": "A missing or wrong signature", **_ERROR},
    409: {"description": "A message id seen before with other parameters", **_ERROR},
    413: ERRORS[413],
    503: ERRORS[503],
}
TEXTS_ANSWER: dict[str, Any] = {
    "description": "Texts kept, newest first",
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["texts"],
                "properties": {"texts": {"type": "array", "items": {"type": "object"}}},
            }
        }
    },
}

__all__ = [
    "ERRORS",
    "LOOKUP_BODY",
    "OPTOUT_ANSWER",
    "OPTOUT_BODY",
    "REQUEST_ANSWER",
    "SMS_WEBHOOK_ANSWERS",
    "SMS_WEBHOOK_BODY",
    "TEXTS_ANSWER",
]
