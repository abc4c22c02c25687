"""Schemathesis against the running server: every operation of its own OpenAPI document, with
valid and invalid inputs, never answers 500 and always answers errors in JSON.

Each operation is fuzzed with any ``pluginId`` (mostly unknown plugins) and with the installed
plugin's key, so requests also reach the bridge, the scoped-route checks and the worker; the
scoped operations are fuzzed once more on the plugin's ``/echo`` route in the world's company,
so fuzzed bodies reach the worker. Hypothesis runs in a thread: ``case.call`` blocks, and the
server answers from the test's event loop.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import hypothesis.errors
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import Case, GenerationMode
from schemathesis.core.transport import Response

from tests.sandbox.serve.http.conftest import PLUGIN_KEY, Served

#: Examples per operation and variant: about 250 requests, under 40 s per backend on 2 cores.
EXAMPLES = 8


def check(case: Case, response: Response) -> None:
    """No 500s; every answer but a 204 is JSON, and every error names its reason."""
    label = f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:300]}"
    assert response.status_code != 500, label
    if response.status_code == 204:
        assert response.content == b"", label
        return
    content_type = response.headers.get("content-type", [""])[0]
    assert content_type.startswith("application/json"), label
    body = json.loads(response.text)
    if response.status_code >= 400:
        assert isinstance(body, dict), label
        assert isinstance(body.get("error"), str) or isinstance(body.get("code"), str), label


def _variants(
    path: str, company_id: str
) -> list[tuple[GenerationMode, dict[str, Any] | None, dict[str, Any] | None]]:
    """(mode, fixed path parameters, fixed query) combinations for one operation."""
    plugin = {"pluginId": PLUGIN_KEY} if "{pluginId}" in path else None
    variants: list[tuple[GenerationMode, dict[str, Any] | None, dict[str, Any] | None]] = []
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        variants.append((mode, None, None))
        if plugin is not None:
            variants.append((mode, plugin, None))
    if path.endswith("/api/{path}"):
        echo = {"pluginId": PLUGIN_KEY, "path": "echo"}
        variants.append((GenerationMode.POSITIVE, echo, {"companyId": company_id}))
    return variants


def fuzz(document: dict[str, Any], base_url: str, company_id: str) -> int:
    """Run every operation's strategies; returns how many requests were sent."""
    schema = schemathesis.openapi.from_dict(document)
    session = requests.Session()
    sent = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode, path_parameters, query in _variants(operation.path, company_id):
            strategy = operation.as_strategy(mode, path_parameters=path_parameters, query=query)

            @given(case=strategy)
            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                database=None,
                derandomize=True,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            def run(case: Case) -> None:
                nonlocal sent
                response = case.call(base_url=base_url, session=session, timeout=30)
                sent += 1
                check(case, response)

            try:
                run()
            except hypothesis.errors.Unsatisfiable:
                # nothing of this operation can be made invalid (no parameters, no body)
                assert mode is GenerationMode.NEGATIVE, operation.label
    return sent


async def test_no_operation_answers_500_or_non_json(served: Served) -> None:
    await served.install()
    document = (await served.client.get("/api/openapi.json")).json()

    sent = await asyncio.to_thread(fuzz, document, served.base_url, served.world.company_id)

    assert sent > 200, f"only {sent} requests were generated"
    assert (await served.client.get("/api/health")).status_code == 200
