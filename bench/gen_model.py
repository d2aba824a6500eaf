#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Writes a synthetic threatsync native model of N components with five flows each.

Usage: gen_model.py N OUT.json [SEED]

The model is deterministic for a given N and seed: components cycle through a
realistic mix of library types with varied properties, spread over three trust
zones; every component is the source of five flows to other components.
"""
import json
import random
import sys

TYPES = [
    ("web_app", {"internet_facing": True, "authenticates_users": True, "handles_pii": True}),
    ("rest_api", {"handles_pii": True}),
    ("rest_api", {}),
    ("spa", {"internet_facing": True}),
    ("api_gateway", {"internet_facing": True, "tls_terminating": True}),
    ("identity_provider", {"authenticates_users": True, "stores_credentials": True}),
    ("sql_database", {"handles_pii": True, "data_classification": "confidential"}),
    ("nosql_database", {"data_classification": "internal"}),
    ("cache", {}),
    ("message_broker", {}),
    ("object_storage", {"data_classification": "internal"}),
    ("background_worker", {"handles_pii": True}),
    ("secrets_manager", {"stores_credentials": True}),
    ("logging_monitoring", {}),
    ("user", {}),
]
ZONES = ["internet", "dmz", "core"]


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit("usage: gen_model.py N OUT.json [SEED]")
    n = int(sys.argv[1])
    if n < 6:
        sys.exit("gen_model.py: N must be at least 6")
    rnd = random.Random(int(sys.argv[3]) if len(sys.argv) == 4 else 1)
    components = []
    for i in range(n):
        ctype, props = TYPES[i % len(TYPES)]
        zone = "internet" if ctype == "user" else ZONES[1 + (i // len(TYPES)) % 2]
        components.append({
            "id": "c%06d" % i,
            "type": ctype,
            "name": "%s %d" % (ctype.replace("_", " "), i),
            "trust_zone": zone,
            "tags": ["team-%d" % (i % 7)],
            "properties": dict(props),
        })
    flows = []
    for i in range(n):
        for k in range(5):
            j = rnd.randrange(n - 1)
            if j >= i:
                j += 1
            flows.append({
                "id": "f%06d-%d" % (i, k),
                "source": components[i]["id"],
                "destination": components[j]["id"],
                "protocol": "HTTPS",
                "properties": {"encrypted": rnd.random() < 0.7},
            })
    model = {
        "format": "threatsync-model/1",
        "project": {"name": "Synthetic %d" % n, "description": "bench/gen_model.py",
                    "compliance": ["gdpr", "iso-27001"]},
        "trust_zones": [{"id": z, "name": z, "trust_level": 10 * k} for k, z in enumerate(ZONES)],
        "components": components,
        "flows": flows,
    }
    with open(sys.argv[2], "w") as f:
        json.dump(model, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
