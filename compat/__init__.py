"""The compatibility job: every supported Airflow line, installed as users would, checked end to end."""
