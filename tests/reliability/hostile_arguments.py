"""
Hostile public arguments for the operator, the sensor and the hook: wrong types, garbage, huge values.

Each case names the argument and the text its error must hold; the catalogue test proves the error comes
before any request reaches the emulator.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from airflow_provider_metrika.delivery import upload_simple_orders
from airflow_provider_metrika.hooks.metrika import MetrikaHook
from tests.conftest import COUNTER, SAMPLE_CSV

# -- operator: refused when the DAG is parsed ------------------------------------------------------


def _op(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Complete one hostile argument into an otherwise valid call: a CSV input, unless one is named."""
    arguments = {"path": "/a.csv", **kwargs} if not {"sql", "dataframe"} & set(kwargs) else kwargs
    return {name: value for name, value in arguments.items() if not (name == "path" and value is None)}


OPERATOR_CASES = [
    pytest.param(_op({"counter_id": True}), "counter_id must be a positive integer", id="counter True"),
    pytest.param(_op({"counter_id": -1}), "counter_id must be a positive integer", id="counter negative"),
    pytest.param(_op({"counter_id": 2**40}), "counter_id must be a positive integer", id="counter huge"),
    pytest.param(
        _op({"counter_id": "1; DROP TABLE"}), "counter_id must be a positive integer", id="counter text"
    ),
    pytest.param(_op({"merge_mode": None}), "merge_mode must be one of", id="merge_mode None"),
    pytest.param(_op({"delimiter_type": None}), "delimiter_type must be one of", id="delimiter None"),
    pytest.param(_op({"timezone": "Mars/Olympus"}), "not a known IANA time zone", id="unknown zone"),
    pytest.param(_op({"timezone": "../../etc/passwd"}), "not a known IANA time zone", id="zone path"),
    pytest.param(_op({"source_timezone": "UTC+3"}), "not a known IANA time zone", id="offset as zone"),
    pytest.param(_op({"columns": "not json"}), "columns must be a mapping", id="columns text"),
    pytest.param(_op({"status_map": "{"}), "status_map cannot be read", id="status_map broken JSON"),
    pytest.param(
        _op({"max_invalid_fraction": math.nan}), "max_invalid_fraction must be a number", id="fraction NaN"
    ),
    pytest.param(
        _op({"max_invalid_fraction": "0.5"}), "max_invalid_fraction must be a number", id="fraction text"
    ),
    pytest.param(_op({"max_part_bytes": 10**12}), "max_part_bytes must be an integer", id="part over 1 GB"),
    pytest.param(_op({"poll_interval": math.inf}), "poll_interval must be a number", id="poll forever"),
    pytest.param(_op({"timeout": 1e300}), "timeout must be a number", id="timeout 1e300"),
    pytest.param(_op({"timeout": math.nan}), "timeout must be a number", id="timeout NaN"),
    pytest.param(_op({"hash_identifiers": "no"}), "hash_identifiers must be True or False", id="hash 'no'"),
    pytest.param(
        _op({"rewrite_leading_8": "yes"}), "rewrite_leading_8 must be True or False", id="rewrite text"
    ),
    pytest.param(_op({"wait_for_validation": 1}), "wait_for_validation must be True or False", id="wait 1"),
    pytest.param(_op({"deferrable": "false"}), "deferrable must be True or False", id="deferrable text"),
    pytest.param(_op({"metrika_conn_id": ""}), "metrika_conn_id must be a connection id", id="conn id empty"),
    pytest.param(_op({"metrika_conn_id": 5}), "metrika_conn_id must be a connection id", id="conn id number"),
    pytest.param(_op({"path": ""}), "path must be a file path", id="path empty"),
    pytest.param(_op({"path": 123}), "path must be a file path", id="path number"),
    pytest.param(_op({"rejects_path": 123}), "rejects_path must be a path", id="rejects_path number"),
    pytest.param(_op({"path": None, "dataframe": "orders.csv"}), "dataframe must be", id="dataframe text"),
    pytest.param(
        _op({"path": None, "sql": "SELECT 1", "sql_conn_id": "db", "sql_parameters": "abc"}),
        "sql_parameters must be",
        id="sql_parameters text",
    ),
    pytest.param(
        _op({"path": None, "sql": "SELECT 1", "sql_conn_id": "db", "sql_batch_rows": True}),
        "sql_batch_rows must be an integer",
        id="batch rows True",
    ),
    pytest.param(
        _op({"force_resend": "maybe"}), "force_resend must be True or False", id="force_resend text"
    ),
    pytest.param(
        _op({"changed_only": True, "sync_state": 5}), "sync_state must be a path", id="sync_state number"
    ),
]

# -- sensor: refused when the DAG is parsed --------------------------------------------------------

SENSOR_CASES = [
    pytest.param({"uploading_ids": None}, "uploading_ids must be", id="ids None"),
    pytest.param({"uploading_ids": 5}, "uploading_ids must be", id="ids number"),
    pytest.param({"uploading_ids": []}, "uploading_ids is empty", id="ids empty"),
    pytest.param({"uploading_ids": [["a"]]}, "uploading_ids[0] must be", id="ids nested"),
    pytest.param({"uploading_ids": [{"a": 1}]}, "without an 'uploading_id'", id="ids object without id"),
    pytest.param({"uploading_ids": ["a"], "counter_id": "x"}, "counter_id must be a positive", id="counter"),
    pytest.param(
        {"uploading_ids": ["a"], "poke_interval": -1},
        "poke_interval must be a number of seconds (or a timedelta) at least 0",
        id="poke negative",
    ),
    pytest.param(
        {"uploading_ids": ["a"], "poke_interval": "5"}, "poke_interval must be a number", id="poke text"
    ),
    pytest.param(
        {"uploading_ids": ["a"], "timeout": math.nan}, "timeout must be a number of seconds", id="timeout NaN"
    ),
    pytest.param(
        {"uploading_ids": ["a"], "timeout": 1e300}, "timeout must be a number of seconds", id="timeout huge"
    ),
    pytest.param(
        {"uploading_ids": ["a"], "poke_interval": timedelta(days=400)},
        "poke_interval must be a number of seconds (or a timedelta) at least 0 and at most 2,592,000",
        id="poke 400 days",
    ),
    pytest.param(
        {"uploading_ids": ["a"], "metrika_conn_id": ""}, "metrika_conn_id must be", id="conn id empty"
    ),
]

# -- hook: refused before any request -------------------------------------------------------------

HookCall = Callable[[MetrikaHook], Any]


def _upload(**kwargs: Any) -> HookCall:
    arguments = {"counter_id": COUNTER, "file": io.BytesIO(SAMPLE_CSV), **kwargs}
    return lambda hook: upload_simple_orders(hook, **arguments)


HOOK_CASES = [
    pytest.param(_upload(counter_id=True), "counter_id must be a positive integer", id="upload counter True"),
    pytest.param(
        _upload(counter_id="abc"), "counter_id must be a positive integer", id="upload counter text"
    ),
    pytest.param(_upload(merge_mode="MERGE"), "merge_mode must be one of", id="upload merge_mode"),
    pytest.param(_upload(delimiter_type=";"), "delimiter_type must be one of", id="upload delimiter"),
    pytest.param(_upload(file=123), "file must be", id="upload file number"),
    pytest.param(_upload(file="/no/such/orders.csv"), "does not exist", id="upload missing file"),
    pytest.param(_upload(filename="../../etc/x.csv"), "filename must be", id="upload filename path"),
    pytest.param(_upload(filename="a\r\nb.csv"), "filename must be", id="upload filename line break"),
    pytest.param(_upload(expected_rows=-1), "expected_rows must be", id="upload expected_rows negative"),
    pytest.param(
        lambda hook: hook.list_uploadings(COUNTER, limit=0), "limit must be an integer", id="list limit 0"
    ),
    pytest.param(
        lambda hook: hook.list_uploadings(COUNTER, limit=10**6),
        "limit must be an integer",
        id="list limit huge",
    ),
    pytest.param(
        lambda hook: hook.list_uploadings(COUNTER, limit="10"),
        "limit must be an integer",
        id="list limit text",
    ),
    pytest.param(
        lambda hook: hook.list_uploadings(COUNTER, datetime_offset="yesterday"),
        "datetime_offset",
        id="list offset garbage",
    ),
    pytest.param(
        lambda hook: hook.find_uploadings(COUNTER, ["a"], max_pages=10**9), "max_pages", id="find pages huge"
    ),
    pytest.param(
        lambda hook: hook.find_uploadings(COUNTER, ["a"], page_size=0), "page_size", id="find page 0"
    ),
    pytest.param(
        lambda hook: hook.find_uploadings(COUNTER, ["a"], not_before="last week"),
        "not_before",
        id="find since",
    ),
    pytest.param(lambda hook: hook.find_uploadings(COUNTER, "abc"), "uploading_ids", id="find ids as text"),
    pytest.param(lambda hook: hook.get_uploading(COUNTER, ""), "uploading_id", id="get empty id"),
    pytest.param(lambda hook: hook.get_uploading(COUNTER, None), "uploading_id", id="get None id"),
    pytest.param(
        lambda hook: hook.get_counter("abc"), "counter_id must be a positive integer", id="counter text"
    ),
    pytest.param(
        lambda hook: hook.get_goals(0), "counter_id must be a positive integer", id="goals counter 0"
    ),
]

HOOK_ARGUMENT_CASES = [
    pytest.param({"retry_limit": -1}, "retry_limit", id="retry_limit negative"),
    pytest.param({"retry_limit": "three"}, "retry_limit", id="retry_limit text"),
    pytest.param({"connect_timeout": 0}, "connect_timeout", id="connect_timeout 0"),
    pytest.param({"read_timeout": math.inf}, "read_timeout", id="read_timeout forever"),
    pytest.param({"timeout": -5}, "timeout", id="timeout negative"),
    pytest.param({"lost_answer_wait": math.nan}, "lost_answer_wait", id="lost_answer_wait NaN"),
]
