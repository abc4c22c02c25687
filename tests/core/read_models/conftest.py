from tests.fixtures.orchestration import world  # noqa: F401  (the shared fixture)
