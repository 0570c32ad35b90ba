"""The provider registers with Airflow: metadata valid against Airflow's schema, listed by the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import distribution, entry_points
from pathlib import Path

import airflow
import jsonschema

from airflow_provider_metrika.get_provider_info import get_provider_info

AIRFLOW_CLI = [sys.executable, "-m", "airflow"]


def test_provider_info_is_valid_against_airflows_schema() -> None:
    schema = json.loads((Path(airflow.__file__).parent / "provider_info.schema.json").read_text())

    jsonschema.validate(get_provider_info(), schema)


def test_package_name_equals_the_distribution_name() -> None:
    [entry_point] = [e for e in entry_points(group="apache_airflow_provider") if "metrika" in e.value]

    assert entry_point.dist is not None
    assert get_provider_info()["package-name"] == entry_point.dist.name == "airflow-provider-metrika"
    assert get_provider_info()["versions"] == [distribution("airflow-provider-metrika").version]


def test_every_declared_module_and_class_imports() -> None:
    import importlib

    info = get_provider_info()
    modules = [
        m
        for kind in ("hooks", "operators", "sensors", "triggers")
        for e in info.get(kind, [])
        for m in e["python-modules"]
    ]
    classes = [c["hook-class-name"] for c in info["connection-types"]]
    classes += info.get("extra-links", [])
    for module in modules:
        importlib.import_module(module)
    for dotted in classes:
        module, _, name = dotted.rpartition(".")
        assert hasattr(importlib.import_module(module), name), dotted


def test_airflow_cli_lists_the_provider_and_its_hook() -> None:
    providers = subprocess.run(
        [*AIRFLOW_CLI, "providers", "list", "-o", "json"], capture_output=True, text=True, check=True
    )
    hooks = subprocess.run(
        [*AIRFLOW_CLI, "providers", "hooks", "-o", "json"], capture_output=True, text=True, check=True
    )

    listed = {p["package_name"]: p for p in json.loads(providers.stdout)}
    assert "airflow-provider-metrika" in listed
    [metrika] = [h for h in json.loads(hooks.stdout) if h["connection_type"] == "metrika"]
    assert metrika["class"] == "airflow_provider_metrika.hooks.metrika.MetrikaHook"
    assert metrika["conn_id_attribute_name"] == "metrika_conn_id"
