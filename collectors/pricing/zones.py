"""AWS zone IDs to zone names, from the mapping SkyPilot stores next to the AWS catalog.

SkyPilot's hosted AWS catalog lists zones by ID (``use2-az1``) because the ID-to-name mapping
differs per account. When SkyPilot runs with AWS credentials it saves the account's mapping as
``aws/az_mappings-<user hash>.csv`` (columns AvailabilityZoneName, AvailabilityZone) and uses the
newest such file when credentials are absent (``sky/catalog/aws_catalog.py``); we do the same, so
zone names that SkyServe reports find their zone's spot price.
"""

import csv
import logging
from collections.abc import Mapping
from pathlib import Path

logger = logging.getLogger(__name__)

_NAME, _ID = "AvailabilityZoneName", "AvailabilityZone"


def aws_zone_names(cloud_dir: Path) -> Mapping[str, str]:
    """Zone ID -> zone name from the newest mapping file; empty when there is none or it is unreadable."""
    try:
        files = sorted(cloud_dir.glob("az_mappings-*.csv"), key=lambda path: path.stat().st_mtime)
        if not files:
            return {}
        with files[-1].open(encoding="utf-8-sig", newline="") as handle:
            return {row[_ID]: row[_NAME] for row in csv.DictReader(handle) if row.get(_ID) and row.get(_NAME)}
    except (OSError, csv.Error, KeyError) as exc:
        logger.warning("ignoring the AWS zone mapping in %s: %s", cloud_dir, exc)
        return {}
