"""``python -m airflow_provider_metrika.delivery show|forget|resend``: resolve a task's delivery journal."""

from __future__ import annotations

import argparse
import json
import sys

from airflow_provider_metrika.delivery.resolve import TaskInstanceKey, forget, read_journal, request_resend


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m airflow_provider_metrika.delivery",
        description="Show or resolve the delivery journal of one upload task instance.",
    )
    parser.add_argument(
        "verb",
        choices=("show", "forget", "resend"),
        help=(
            "show: print the records; forget: drop them (the upload is resolved: a later Clear sends "
            "everything again); resend: the next try sends its unresolved parts again, once"
        ),
    )
    parser.add_argument("--dag-id", required=True)
    parser.add_argument("--run-id", required=True)
    parser.add_argument("--task-id", required=True)
    parser.add_argument("--map-index", type=int, default=-1)
    args = parser.parse_args(argv)
    key = TaskInstanceKey(args.dag_id, args.run_id, args.task_id, args.map_index)
    if args.verb == "show":
        print(json.dumps(read_journal(key), indent=2, sort_keys=True))
    elif args.verb == "forget":
        held = forget(key)
        print(
            f"Forgot {held} upload record(s) of {key.dag_id} / {key.run_id} / {key.task_id} "
            f"(map index {key.map_index}): a later run or Clear of it sends every part again."
        )
    else:
        request_resend(key)
        print(
            f"The next try of {key.dag_id} / {key.run_id} / {key.task_id} (map index {key.map_index}) "
            "sends its unresolved parts again, once. Clear the task to start it."
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
