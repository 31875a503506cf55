"""Bearer-token dependencies: who is calling, and may they do this."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request

from gateway.auth.binding import CertificateError, same_thumbprint
from gateway.auth.tokens import Principal, TokenService
from gateway.core.errors import GatewayError, InsufficientScope, InvalidToken, Unauthorized

_CHALLENGE = 'Bearer realm="kgb-gateway"'


def _token_service(request: Request) -> TokenService:
    service: TokenService = request.app.state.tokens
    return service


def presented_certificate(request: Request, error: type[GatewayError],
                          extra: dict[str, Any] | None = None) -> str | None:
    """The thumbprint of the client certificate, when binding is on; the ingress header is ignored otherwise."""
    binding = _token_service(request).binding
    if binding is None:
        return None
    try:
        return binding.presented(request.scope, request.headers)
    except CertificateError as exc:
        raise error(detail="The TLS client certificate passed to the gateway cannot be read.",
                    extra=extra or {}) from exc


def _check_binding(request: Request, principal: Principal) -> None:
    """RFC 8705 section 3: a bound token is only accepted over a connection with the same certificate."""
    if _token_service(request).binding is None:
        if principal.certificate_thumbprint is not None:
            # Binding is off, so the certificate cannot be checked; accepting would silently drop the binding.
            raise InvalidToken(detail="This token is bound to a TLS client certificate, which this gateway "
                                      "does not check; request a new token.")
        return
    if principal.certificate_thumbprint is None:
        raise InvalidToken(detail="This gateway only accepts tokens bound to a TLS client certificate.")
    presented = presented_certificate(request, InvalidToken)
    if presented is None:
        raise InvalidToken(detail="This access token is bound to a TLS client certificate; present it.")
    if not same_thumbprint(presented, principal.certificate_thumbprint):
        raise InvalidToken(detail="The access token is bound to another TLS client certificate than the one "
                                  "presented.")


async def current_principal(request: Request) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized(detail="Send an access token as 'Authorization: Bearer <token>'.",
                           headers={"WWW-Authenticate": _CHALLENGE})
    try:
        principal = _token_service(request).verify_access_token(token.strip())
        _check_binding(request, principal)
    except InvalidToken as exc:
        exc.headers = {"WWW-Authenticate": f'{_CHALLENGE}, error="invalid_token"'}
        raise
    return principal


PrincipalDep = Annotated[Principal, Depends(current_principal)]


def require_scope(scope: str) -> Callable[[Principal], Coroutine[Any, Any, Principal]]:
    async def check(principal: PrincipalDep) -> Principal:
        if scope not in principal.scopes:
            raise InsufficientScope(detail=f"This operation needs the scope '{scope}'.",
                                    headers={"WWW-Authenticate": f'{_CHALLENGE}, error="insufficient_scope", '
                                                                 f'scope="{scope}"'})
        return principal

    return check
