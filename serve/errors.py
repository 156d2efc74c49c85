"""One JSON error shape for every failure: `{"error": {"code", "message", ...}}`.

Clients (and the people reading their logs) get the same fields whether the body was too large, an
item too long, a key missing or the queue full: which item, which field, which limit, what was found.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

__all__ = [
    "ApiError",
    "ClientGone",
    "DeadlineExceeded",
    "ErrorDetail",
    "ErrorResponse",
    "RateLimitExceeded",
    "error_response",
    "install_error_handlers",
]


class ErrorDetail(BaseModel):
    """Why a request was refused; the optional fields locate the problem."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str = Field(description="Machine-readable reason.", examples=["text_too_long"])
    message: str = Field(
        description="What was expected, what was found, how to fix it.",
        examples=["items[3].text has 6200 characters; the limit is 5000"],
    )
    item: int | None = Field(
        default=None, description="0-based index of the offending item.", examples=[3]
    )
    id: str | None = Field(
        default=None, description="The offending item's id, if given.", examples=["post-4"]
    )
    field: str | None = Field(default=None, description="The offending field.", examples=["text"])
    limit: int | None = Field(
        default=None, description="The limit that was exceeded.", examples=[5000]
    )
    found: int | None = Field(default=None, description="The value found.", examples=[6200])
    problems: list[dict[str, Any]] | None = Field(
        default=None,
        description="Every validation problem: loc, msg, type.",
        examples=[
            [{"loc": ["body", "items", "0", "text"], "msg": "Field required", "type": "missing"}]
        ],
    )


class ErrorResponse(BaseModel):
    """The body of every error answer."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    error: ErrorDetail = Field(description="What went wrong.")


class ApiError(Exception):
    """An error answered with `status` and an `ErrorResponse` body."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        headers: dict[str, str] | None = None,
        **details: Any,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.detail = ErrorDetail(code=code, message=message, **details)
        self.headers = headers


class RateLimitExceeded(ApiError):
    """429: the key has used its requests or items for now; Retry-After says when to come back."""

    def __init__(self, message: str, retry_after_s: int, headers: dict[str, str]) -> None:
        super().__init__(
            429,
            "rate_limited",
            message,
            headers=headers | {"Retry-After": str(retry_after_s)},
        )


class DeadlineExceeded(ApiError):
    """504: the request's deadline passed before its work was done; the rest of it was dropped."""

    def __init__(self, seconds: float, limit: float) -> None:
        super().__init__(
            504,
            "deadline_exceeded",
            f"the request was not scored within its deadline of {seconds:g} s (the service "
            f"allows at most {limit:g} s; X-Request-Timeout may ask for less); its remaining "
            "work was dropped; send fewer or shorter items, leave `explain` off, or retry later",
            limit=int(limit),
        )


class ClientGone(ApiError):
    """499 (nginx's code): the client disconnected; its work was dropped and nobody reads this."""

    def __init__(self) -> None:
        super().__init__(
            499, "client_closed_request", "the client closed the connection before the answer"
        )


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None, **details: Any
) -> JSONResponse:
    body = ErrorResponse(error=ErrorDetail(code=code, message=message, **details))
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status, headers=headers)


def _problem(err: dict[str, Any]) -> dict[str, Any]:
    # Inputs are not echoed back: they may be long, and they are someone's post.
    return {"loc": [str(p) for p in err.get("loc", ())], "msg": err["msg"], "type": err["type"]}


def _first_item(errors: list[dict[str, Any]]) -> int | None:
    for err in errors:
        loc = list(err.get("loc", ()))
        if len(loc) >= 3 and loc[:2] == ["body", "items"] and isinstance(loc[2], int):
            return loc[2]
    return None


async def _on_api_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    body = ErrorResponse(error=exc.detail)
    return JSONResponse(
        body.model_dump(exclude_none=True), status_code=exc.status, headers=exc.headers
    )


async def _on_validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    problems = [_problem(e) for e in errors]
    first = problems[0] if problems else {"loc": [], "msg": "invalid request"}
    where = ".".join(first["loc"][1:]) or "body"
    return error_response(
        422,
        "invalid_request",
        f"{where}: {first['msg']} ({len(problems)} problem(s); see 'problems')",
        item=_first_item(errors),
        problems=problems,
    )


async def _on_http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400:
        # FastAPI answers 400 for a body that is not UTF-8 and 422 for one that is not JSON;
        # clients get one answer for "the body cannot be read": 422 invalid_request.
        return error_response(
            422, "invalid_request", f"the body cannot be read as UTF-8 JSON ({exc.detail})"
        )
    codes = {404: "not_found", 405: "method_not_allowed"}
    return error_response(
        exc.status_code,
        codes.get(exc.status_code, "http_error"),
        str(exc.detail),
        headers=getattr(exc, "headers", None),
    )


async def _on_unexpected(_: Request, exc: Exception) -> JSONResponse:
    # The traceback goes to the log (by Starlette); the client gets the same JSON shape as always.
    return error_response(
        500, "internal_error", "the server failed to answer this request; it has been logged"
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(Exception, _on_unexpected)
    app.add_exception_handler(ApiError, _on_api_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
