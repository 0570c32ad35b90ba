"""Provider metadata that Airflow reads through the ``apache_airflow_provider`` entry point."""

from __future__ import annotations

from typing import Any

from airflow_provider_metrika import __version__
from airflow_provider_metrika.constants import CONN_TYPE, DEFAULT_API_URL

INTEGRATION = "Yandex Metrika"


def get_provider_info() -> dict[str, Any]:
    """Return the provider's metadata: package, hooks, operators, sensors, triggers, connection form."""
    return {
        "package-name": "airflow-provider-metrika",
        "name": "Yandex Metrika",
        "description": "Upload CRM orders to `Yandex Metrika <https://metrika.yandex.ru/>`__ "
        "through the simplified orders CSV API, and wait for their validation.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": INTEGRATION,
                "external-doc-url": "https://yandex.ru/dev/metrika/en/",
                "tags": ["service"],
            }
        ],
        "hooks": [
            {"integration-name": INTEGRATION, "python-modules": ["airflow_provider_metrika.hooks.metrika"]}
        ],
        "operators": [
            {
                "integration-name": INTEGRATION,
                "python-modules": [
                    "airflow_provider_metrika.operators.simple_orders",
                    "airflow_provider_metrika.operators.offline_conversions",
                    "airflow_provider_metrika.operators.expenses",
                    "airflow_provider_metrika.operators.linkage",
                ],
            }
        ],
        "sensors": [
            {
                "integration-name": INTEGRATION,
                "python-modules": ["airflow_provider_metrika.sensors.uploading"],
            }
        ],
        "triggers": [
            {
                "integration-name": INTEGRATION,
                "python-modules": [
                    "airflow_provider_metrika.triggers.uploading",
                    "airflow_provider_metrika.triggers.settle",
                ],
            }
        ],
        "extra-links": ["airflow_provider_metrika.links.MetrikaCounterLink"],
        "connection-types": [
            {
                "connection-type": CONN_TYPE,
                "hook-class-name": "airflow_provider_metrika.hooks.metrika.MetrikaHook",
                "hook-name": "Yandex Metrika",
                "ui-field-behaviour": {
                    "hidden-fields": ["schema", "login", "port"],
                    "relabeling": {"host": "API base URL", "password": "OAuth token"},
                    "placeholders": {
                        "host": DEFAULT_API_URL,
                        "password": "OAuth token with metrika:offline_data and metrika:read",
                    },
                },
                "conn-fields": {
                    "counter_id": {
                        "label": "Default counter ID",
                        "description": "Counter used when a task does not name one (the number in the "
                        "counter's URL). Also used by 'Test connection'.",
                        "schema": {"type": ["integer", "null"], "minimum": 1},
                    },
                    "retry_limit": {
                        "label": "Retry limit",
                        "description": "Retries of a request refused by quotas (420/429) or failed on "
                        "Metrika's side (5xx), with exponential backoff. Default 5.",
                        "schema": {"type": ["integer", "null"], "minimum": 0},
                    },
                    "retry_delay": {
                        "label": "Retry delay (seconds)",
                        "description": "First backoff; doubled on each retry. Default 1.",
                        "schema": {"type": ["number", "null"], "minimum": 0},
                    },
                    "max_retry_delay": {
                        "label": "Max retry delay (seconds)",
                        "description": "Longest wait between tries, Retry-After included. Default 60.",
                        "schema": {"type": ["number", "null"], "minimum": 0},
                    },
                    "allow_insecure_http": {
                        "label": "Allow plain http:// to another machine",
                        "description": "Off: an http:// 'API base URL' is refused unless it is this "
                        "machine (the emulator), since the token would travel unencrypted. Turn on "
                        "only for a trusted proxy.",
                        "schema": {"type": ["boolean", "null"]},
                    },
                },
            }
        ],
    }
