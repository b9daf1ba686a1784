# Shared fixtures live in tests/fixtures/, one module per concern, each owned by one part.
pytest_plugins = ["tests.fixtures.worlds", "tests.fixtures.postgres", "tests.fixtures.models"]
