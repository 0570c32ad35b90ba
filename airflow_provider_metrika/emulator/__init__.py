"""A local emulator of the Yandex Metrika CDP simplified orders API, for tests.

Run it with ``metrika-emulator`` (or ``python -m airflow_provider_metrika.emulator``), or from tests
with :func:`airflow_provider_metrika.emulator.testing.run_emulator`. It needs aiohttp, not Airflow.
"""

from __future__ import annotations
