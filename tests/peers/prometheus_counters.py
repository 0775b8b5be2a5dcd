"""Reads Prometheus text on stdin with prometheus_client's own parser and prints
its counters as JSON: {"Name{label=value,...}": total}, the `service` label
dropped (every sample has it) and asserted present. A line the parser refuses
fails the run, so the test sees exactly what a Prometheus server would scrape."""

import json
import sys

from prometheus_client.parser import text_string_to_metric_families

totals = {}
for family in text_string_to_metric_families(sys.stdin.read()):
    if family.type != "counter":
        continue
    for sample in family.samples:
        if not sample.name.endswith("_total"):
            continue  # the `_created` sample some clients add
        labels = dict(sample.labels)
        assert "service" in labels, f"{sample.name} has no service label"
        labels.pop("service")
        name = family.name
        if labels:
            name += "{" + ",".join(f"{k}={v}" for k, v in sorted(labels.items())) + "}"
        totals[name] = totals.get(name, 0) + sample.value
json.dump(totals, sys.stdout)
