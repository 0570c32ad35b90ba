"""The connection form Airflow derives for the ``metrika`` type, as the API server hands it to the UI."""

from __future__ import annotations

from typing import Any

from airflow.api_fastapi.core_api.services.ui.connections import HookMetaService
from airflow.providers_manager import ProvidersManager


def _metrika_meta() -> Any:
    [meta] = [m for m in HookMetaService.hook_meta_data() if m.connection_type == "metrika"]
    return meta


def test_form_is_named_and_backed_by_the_hook() -> None:
    meta = _metrika_meta()

    assert meta.hook_name == "Yandex Metrika"
    assert meta.hook_class_name == "airflow_provider_metrika.hooks.metrika.MetrikaHook"


def test_standard_fields_are_relabelled_or_hidden() -> None:
    fields = _metrika_meta().standard_fields

    assert fields.password.title == "OAuth token"
    assert fields.host.title == "API base URL"
    assert fields.host.placeholder == "https://api-metrika.yandex.net"
    assert fields.login.hidden
    assert fields.port.hidden
    assert fields.url_schema.hidden
    assert not fields.host.hidden
    assert not fields.password.hidden


def test_extra_fields_carry_labels_types_and_no_secret() -> None:
    extra = _metrika_meta().extra_fields

    assert set(extra) == {
        "counter_id",
        "retry_limit",
        "retry_delay",
        "max_retry_delay",
        "allow_insecure_http",
    }
    assert extra["allow_insecure_http"]["schema"]["type"] == ["boolean", "null"]
    assert extra["counter_id"]["schema"]["title"] == "Default counter ID"
    assert extra["counter_id"]["schema"]["type"] == ["integer", "null"]
    assert extra["retry_delay"]["schema"]["type"] == ["number", "null"]
    assert all(field["schema"].get("format") != "password" for field in extra.values())


def test_the_token_lives_in_the_password_field_that_airflow_treats_as_sensitive() -> None:
    from airflow.sdk._shared.secrets_masker import should_hide_value_for_key

    widgets = ProvidersManager().connection_form_widgets
    metrika_widgets = {k: w for k, w in widgets.items() if k.startswith("extra__metrika__")}

    assert should_hide_value_for_key("password")
    assert metrika_widgets
    assert not any(w.is_sensitive for w in metrika_widgets.values()), "no secret hides in an extra"


def test_airflow_before_3_2_reads_the_same_extra_fields_from_the_hook() -> None:
    from wtforms import IntegerField, StringField

    from airflow_provider_metrika.hooks.connection_form import conn_fields
    from airflow_provider_metrika.hooks.metrika import MetrikaHook

    widgets = MetrikaHook.get_connection_form_widgets()

    assert set(widgets) == set(conn_fields())
    assert widgets["counter_id"].field_class is IntegerField
    assert widgets["counter_id"].args[0] == "Default counter ID"
    assert widgets["retry_delay"].field_class is StringField, "only Airflow's known field classes"
    assert all(w.kwargs["description"] for w in widgets.values())
