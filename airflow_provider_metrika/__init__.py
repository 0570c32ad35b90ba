"""Apache Airflow provider for Yandex Metrika's simplified orders upload."""

from __future__ import annotations

__version__ = "0.1.0"
