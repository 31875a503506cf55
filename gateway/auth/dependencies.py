"""Bearer-token dependencies: who is calling, and may they do this."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request

from gateway.auth.tokens import Principal, TokenService
from gateway.core.errors import InsufficientScope, InvalidToken, Unauthorized

_CHALLENGE = 'Bearer realm="kgb-gateway"'


def _token_service(request: Request) -> TokenService:
    service: TokenService = request.app.state.tokens
    return service


async def current_principal(request: Request) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized(detail="Send an access token as 'Authorization: Bearer <token>'.",
                           headers={"WWW-Authenticate": _CHALLENGE})
    try:
        return _token_service(request).verify_access_token(token.strip())
    except InvalidToken as exc:
        exc.headers = {"WWW-Authenticate": f'{_CHALLENGE}, error="invalid_token"'}
        raise


PrincipalDep = Annotated[Principal, Depends(current_principal)]


def require_scope(scope: str) -> Callable[[Principal], Coroutine[Any, Any, Principal]]:
    async def check(principal: PrincipalDep) -> Principal:
        if scope not in principal.scopes:
            raise InsufficientScope(detail=f"This operation needs the scope '{scope}'.",
                                    headers={"WWW-Authenticate": f'{_CHALLENGE}, error="insufficient_scope", '
                                                                 f'scope="{scope}"'})
        return principal

    return check
