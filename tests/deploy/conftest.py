"""The deploy tests drive the same Debian chromium as tests/browser (Playwright, no downloads)."""

from tests.browser.conftest import browser  # noqa: F401  (the module-scoped fixture)
