import json
import logging

import pytest

from exporter.logs import JsonFormatter, LogfmtFormatter


def record(msg: str, **extra: object) -> logging.LogRecord:
    rec = logging.makeLogRecord({"name": "t", "levelname": "WARNING", "msg": msg})
    rec.__dict__.update(extra)
    return rec


def test_logfmt_quotes_and_carries_extra_fields() -> None:
    line = LogfmtFormatter().format(record("collection failed", collector="skyserve", error="a b"))
    assert 'msg="collection failed"' in line
    assert "collector=skyserve" in line
    assert 'error="a b"' in line
    assert "level=warning" in line


def test_json_lines_parse() -> None:
    fields = json.loads(JsonFormatter().format(record("x", collector="skyserve", port=9091)))
    assert fields["collector"] == "skyserve" and fields["port"] == 9091


@pytest.mark.parametrize("formatter", [LogfmtFormatter(), JsonFormatter()])
def test_credentials_never_reach_the_log(formatter: logging.Formatter) -> None:
    line = formatter.format(record("calling https://bob:hunter2@api/x", token="Bearer sky_live_123"))
    assert "hunter2" not in line and "sky_live_123" not in line
