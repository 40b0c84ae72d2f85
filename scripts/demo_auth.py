"""Onboarding and authentication: the demo user, created once, then logged in."""

from __future__ import annotations

import aiohttp
from demo_client import Demo
from demo_config import DEMO_NAME, DEMO_PASSWORD, DEMO_USER, DemoError, log


async def probe_ha(demo_: Demo) -> bool:
    """Return True once Home Assistant answers (onboarded or not)."""
    try:
        async with demo_.session.get(f"{demo_.ha_url}/api/onboarding") as response:
            return response.status in (200, 404)
    except aiohttp.ClientError:
        return False


async def _login(demo_: Demo) -> str:
    """Log the demo user in through the login flow; return an auth code."""
    flow = await demo_.request(
        "POST",
        "/auth/login_flow",
        json_body={
            "client_id": demo_.client_id,
            "handler": ["homeassistant", None],
            "redirect_uri": f"{demo_.ha_url}/?auth_callback=1",
        },
    )
    result = await demo_.request(
        "POST",
        f"/auth/login_flow/{flow['flow_id']}",
        json_body={
            "username": DEMO_USER,
            "password": DEMO_PASSWORD,
            "client_id": demo_.client_id,
        },
    )
    if result.get("type") != "create_entry":
        raise DemoError(
            f"the demo user {DEMO_USER!r} cannot log in with the demo password "
            f"({result.get('errors')}); remove the config directory to start over"
        )
    return str(result["result"])


async def authenticate(demo_: Demo) -> None:
    """Create the demo user on a new instance, or log in; keep a token."""
    steps = await demo_.request("GET", "/api/onboarding", expect=(200, 404))
    user_done = not steps or any(
        step["step"] == "user" and step["done"] for step in steps
    )
    if user_done:
        code = await _login(demo_)
    else:
        log(f"Creating the demo user {DEMO_USER!r} (onboarding)")
        answer = await demo_.request(
            "POST",
            "/api/onboarding/users",
            json_body={
                "client_id": demo_.client_id,
                "name": DEMO_NAME,
                "username": DEMO_USER,
                "password": DEMO_PASSWORD,
                "language": "en",
            },
        )
        code = answer["auth_code"]
    tokens = await demo_.request(
        "POST",
        "/auth/token",
        form={
            "grant_type": "authorization_code",
            "code": code,
            "client_id": demo_.client_id,
        },
    )
    demo_.token = tokens["access_token"]
    if not user_done:
        # Steps a newer Home Assistant may add are finished too.
        for step in await demo_.request("GET", "/api/onboarding", expect=(200, 404)):
            if not step["done"]:
                log(f"Onboarding step {step['step']} left undone")
