"""The service's shared state and the FastAPI dependencies that hand it to routes.

Routes declare what they need with `Annotated[..., Depends()]`: the ready service (model loaded),
and a key with a given scope. Keys come as `Authorization: Bearer KEY` or `X-API-Key: KEY`; no key
or an unknown key is 401, a known key without the scope is 403.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from netralitas.model.backend import Classifier
from netralitas.model.scorer import Scorer
from netralitas.serve.admission import BucketStore, CostBudget, RateLimiter
from netralitas.serve.auth import ApiKey, KeyRing, Scope
from netralitas.serve.batcher import MicroBatcher
from netralitas.serve.errors import ApiError
from netralitas.serve.feedback import FeedbackStore
from netralitas.serve.metrics import Metrics
from netralitas.serve.schemas import ProfileInfo
from netralitas.serve.settings import ServeSettings

__all__ = ["Ready", "ReadyService", "ServiceState", "get_service", "require"]


@dataclass
class ServiceState:
    """What the lifespan builds once and every request shares."""

    settings: ServeSettings
    keys: KeyRing
    metrics: Metrics
    scorer: Scorer | None = None
    batcher: MicroBatcher | None = None
    store: FeedbackStore | None = None
    profiles: list[ProfileInfo] = field(default_factory=list)
    budget: CostBudget = field(init=False)  # the work admitted at once, all requests
    limiter: RateLimiter = field(init=False)  # per key: requests and items per minute

    def __post_init__(self) -> None:
        s = self.settings
        self.budget = CostBudget(s.max_inflight_tokens)
        self.limiter = RateLimiter(
            s.rate_requests_per_minute, s.rate_items_per_minute, store=_bucket_store(s)
        )

    @property
    def model(self) -> Classifier | None:
        return self.scorer.model if self.scorer is not None else None

    @property
    def ready(self) -> bool:
        return self.scorer is not None and self.batcher is not None and self.store is not None


def _bucket_store(settings: ServeSettings) -> BucketStore | None:
    """The shared quota store the settings name (None: this process's memory)."""
    if not settings.rate_limit_store or not (
        settings.rate_requests_per_minute or settings.rate_items_per_minute
    ):
        return None
    from netralitas.serve.feedback import database_url
    from netralitas.serve.quota_store import SqlBuckets

    return SqlBuckets(database_url(settings.rate_limit_store))


@dataclass(frozen=True)
class ReadyService:
    """The state once the model is loaded: fields are never None."""

    settings: ServeSettings
    metrics: Metrics
    scorer: Scorer
    batcher: MicroBatcher
    store: FeedbackStore
    profiles: list[ProfileInfo]
    budget: CostBudget
    limiter: RateLimiter

    @property
    def model(self) -> Classifier:
        return self.scorer.model


async def get_service(request: Request) -> ServiceState:
    return request.app.state.service


async def get_ready(service: Annotated[ServiceState, Depends(get_service)]) -> ReadyService:
    if not service.ready:
        raise ApiError(
            503,
            "not_ready",
            "the model is still loading; retry shortly",
            headers={"Retry-After": str(service.settings.retry_after_s)},
        )
    assert service.scorer and service.batcher and service.store
    return ReadyService(
        service.settings,
        service.metrics,
        service.scorer,
        service.batcher,
        service.store,
        service.profiles,
        service.budget,
        service.limiter,
    )


Ready = Annotated[ReadyService, Depends(get_ready)]

_bearer = HTTPBearer(auto_error=False, description="`Authorization: Bearer <API key>`")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="`X-API-Key: <API key>`")


def require(scope: Scope | None) -> Callable[..., Awaitable[ApiKey]]:
    """A dependency admitting keys with `scope` (any valid key when `scope` is None).

    Dependencies here are `async def` although they never await: FastAPI runs plain `def`
    dependencies in a worker thread, a thread hop per dependency per request."""

    async def dependency(
        service: Annotated[ServiceState, Depends(get_service)],
        bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
        header: Annotated[str | None, Depends(_header)],
    ) -> ApiKey:
        sent = {k for k in (header, bearer.credentials if bearer else None) if k}
        challenge = {"WWW-Authenticate": "Bearer"}
        if len(sent) > 1:  # two different keys: refuse rather than guess which one is meant
            raise ApiError(
                401,
                "invalid_key",
                "Authorization and X-API-Key carry different keys; send one key",
                headers=challenge,
            )
        presented = sent.pop() if sent else None
        if not presented:
            raise ApiError(
                401,
                "missing_key",
                "this endpoint needs an API key: send `Authorization: Bearer KEY` or `X-API-Key: KEY`",
                headers=challenge,
            )
        key = service.keys.find(presented)
        if key is None:
            raise ApiError(401, "invalid_key", "the API key is not valid", headers=challenge)
        if scope is not None and scope not in key.scopes:
            raise ApiError(
                403,
                "missing_scope",
                f"the key {key.name!r} has scopes {sorted(key.scopes)}; this endpoint needs "
                f"{scope!r}; ask an administrator for a key with that scope",
            )
        return key

    dependency.__name__ = f"require_{scope or 'key'}"
    return dependency
