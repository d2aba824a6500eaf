#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Validates the golden report of WidgetsRUs (tests/data/report/widgetsrus.json,
the output unit/report/test_golden_widgetsrus compares byte for byte) against
schema/report.schema.json, with the validator of schema_conformance.py, after
checking that a document missing a required member is refused.

usage: report_schema.py SOURCE_DIR
"""

import copy
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from schema_conformance import Validator  # noqa: E402


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 64
    src = sys.argv[1]
    schema_dir = os.path.join(src, "schema")
    with open(os.path.join(schema_dir, "report.schema.json")) as f:
        schema = json.load(f)
    with open(os.path.join(src, "tests", "data", "report", "widgetsrus.json")) as f:
        doc = json.load(f)
    v = Validator(schema, schema_dir)
    errs = v.validate(doc, schema)
    if errs:
        print("widgetsrus.json does not conform to report.schema.json:\n  " +
              "\n  ".join(errs[:20]), file=sys.stderr)
        return 1
    bad = 0
    for change in (lambda d: d.pop("trend"),
                   lambda d: d["summary"].update(overdue=-1),
                   lambda d: d["countermeasures"][0].pop("ticket"),
                   lambda d: d["releases"][0]["metrics"].update(mttr_days="soon")):
        wrong = copy.deepcopy(doc)
        change(wrong)
        if not v.validate(wrong, schema):
            print("a wrong report document is accepted", file=sys.stderr)
            bad = 1
    if bad:
        return 1
    print(f"ok: widgetsrus.json conforms to report.schema.json "
          f"({len(doc['threats'])} threats, {len(doc['countermeasures'])} tasks)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
