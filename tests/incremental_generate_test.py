#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A regeneration after a model change equals a full generation.

usage: incremental_generate_test.py THREATSYNC SOURCE_DIR widgetsrus|synthetic [ROUNDS] [SEED]

`generate` regenerates only the components a model change can affect (the
stored generation_state). Each round applies one random change to the model
(a property toggled, a component renamed, retyped, added, removed or marked
out of scope, a flow added, removed, redirected or changed), imports it, runs
`generate`, and records every stored threat, task and link; then `generate
--full` on the same database must change nothing: the same rows, the same
summary totals, no created/updated/removed items. Local changes must not
regenerate the whole model (the test fails when the partial run silently does
a full one), and the rows must also equal a fresh database generated in full
from the same model (every fifth round, and at the end).
"""
import copy
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile

NOW = "2026-03-02T10:00:00.000Z"
BOOL_PROPS = ["internet_facing", "handles_pii", "authenticates_users", "stores_credentials",
              "multi_tenant", "handles_payment", "out_of_scope", "runs_external_programs",
              "llm", "tls_terminating"]
FLOW_PROPS = ["encrypted", "authenticated"]


class Env:
    def __init__(self, ts, src, tmp):
        self.ts = ts
        self.tmp = tmp
        self.conf = os.path.join(tmp, "t.conf")
        with open(self.conf, "w") as f:
            f.write('database = "%s/unused.db";\nlibrary_paths = [ "%s/library" ];\n'
                    % (tmp, src))
        self.env = dict(os.environ, THREATSYNC_NOW=NOW)

    def run(self, db, *args):
        p = subprocess.run([self.ts, "-c", self.conf, "--db", db] + list(args),
                           capture_output=True, text=True, env=self.env)
        if p.returncode != 0:
            sys.exit("threatsync %s exited %d:\n%s%s"
                     % (" ".join(args), p.returncode, p.stdout, p.stderr))
        return p.stdout

    def import_model(self, db, model, n):
        path = os.path.join(self.tmp, "model-%d.json" % n)
        with open(path, "w") as f:
            json.dump(model, f)
        self.run(db, "model", "import", "p", path)

    def generate(self, db, *extra):
        return json.loads(self.run(db, "generate", "p", "--json", *extra))


def rows(db):
    """Every stored threat, task and link, by uid, without ids and times."""
    con = sqlite3.connect(db)
    t = con.execute(
        "SELECT uid, state, content_hash, round(score, 9), in_scope, severity,"
        " coalesce(removed_reason, '') FROM threats ORDER BY uid").fetchall()
    c = con.execute(
        "SELECT uid, state, status, priority, in_scope, round(score, 9), coalesce(due_date, ''),"
        " body, content_hash, coalesce(satisfied_by, ''), coalesce(text_hash, ''),"
        " coalesce(removed_reason, '') FROM countermeasures ORDER BY uid").fetchall()
    links = con.execute(
        "SELECT t.uid, c.uid FROM threat_countermeasures l JOIN threats t ON t.id = l.threat_id"
        " JOIN countermeasures c ON c.id = l.countermeasure_id ORDER BY 1, 2").fetchall()
    con.close()
    return {"threats": t, "countermeasures": c, "links": links}


def active(snapshot):
    """The active rows only: what a fresh database generated in full holds
    (without due dates, which are set once and kept when the policy changes)."""
    t = [r[:6] for r in snapshot["threats"] if r[1] == "active"]
    c = [r[:6] + r[7:11] for r in snapshot["countermeasures"] if r[1] == "active"]
    uids = {r[0] for r in t} | {r[0] for r in c}
    links = [lk for lk in snapshot["links"] if lk[0] in uids and lk[1] in uids]
    return {"threats": t, "countermeasures": c, "links": links}


def diff(a, b):
    for k in a:
        if a[k] != b[k]:
            sa, sb = set(a[k]), set(b[k])
            return "%s differ: only before %s; only after %s" % (
                k, sorted(sa - sb)[:3], sorted(sb - sa)[:3])
    return None


def totals(summary):
    return (summary["threats"]["total"], summary["threats"]["in_scope"],
            summary["threats"]["by_severity"], summary["countermeasures"]["total"],
            summary["countermeasures"]["in_scope"])


def mutate(model, rnd, serial):
    """Applies one random change; returns (its description, whether it is local)."""
    comps = model["components"]
    flows = model["flows"]
    ids = [c["id"] for c in comps]
    kind = rnd.choice(["prop", "prop", "rename", "retype", "add", "remove", "flow_add",
                       "flow_remove", "flow_prop", "flow_redirect", "stack", "rezone"])
    c = rnd.choice(comps)
    if kind == "prop":
        p = rnd.choice(BOOL_PROPS)
        props = c.setdefault("properties", {})
        props[p] = not props.get(p, False)
        # Properties read by the library's model-wide quantifiers
        # (model.any(c, c.multi_tenant == true)) may change their value, which
        # regenerates everything; so may out_of_scope through exposure.
        wide = p in ("out_of_scope", "multi_tenant", "handles_pii", "handles_payment",
                     "stores_credentials")
        return "%s.%s = %s" % (c["id"], p, props[p]), not wide
    if kind == "rename":
        c["name"] = c["name"] + " v%d" % serial
        return "rename %s" % c["id"], True
    if kind == "retype":
        types = sorted({x["type"] for x in comps} - {c["type"]})
        c["type"] = rnd.choice(types)
        return "retype %s to %s" % (c["id"], c["type"]), False
    if kind == "rezone" and model.get("trust_zones"):
        zones = [z["id"] for z in model["trust_zones"] if z["id"] != c.get("trust_zone")]
        c["trust_zone"] = rnd.choice(zones)
        return "move %s to zone %s" % (c["id"], c["trust_zone"]), True
    if kind == "stack":
        props = c.setdefault("properties", {})
        props["stack"] = rnd.choice(["dotnet", "go", "java", "python"])
        return "stack of %s = %s" % (c["id"], props["stack"]), False
    if kind == "add":
        n = copy.deepcopy(c)
        n["id"] = "added-%d" % serial
        n["name"] = "Added %d" % serial
        comps.append(n)
        flows.append({"id": "fa-%d" % serial, "name": "added flow %d" % serial,
                      "source": n["id"], "destination": rnd.choice(ids), "protocol": "HTTPS",
                      "properties": {"encrypted": True}})
        return "add %s (copy of %s)" % (n["id"], c["id"]), False
    if kind == "remove" and len(comps) > 8 and not any(x.get("parent") == c["id"] for x in comps):
        comps.remove(c)
        model["flows"] = [f for f in flows
                          if f["source"] != c["id"] and f["destination"] != c["id"]]
        for t in model.get("threats", []):
            t["applies_to"] = [a for a in t.get("applies_to", []) if a.get("component") != c["id"]]
        return "remove %s" % c["id"], False
    if kind == "flow_add" or not flows:
        a, b = rnd.sample(ids, 2)
        flows.append({"id": "fn-%d" % serial, "name": "new flow %d" % serial, "source": a,
                      "destination": b, "protocol": rnd.choice(["HTTPS", "HTTP", "gRPC", "SQL"]),
                      "properties": {"encrypted": rnd.random() < 0.5}})
        return "flow %s -> %s" % (a, b), True
    f = rnd.choice(flows)
    if kind == "flow_remove":
        flows.remove(f)
        for t in model.get("threats", []):
            t["applies_to"] = [a for a in t.get("applies_to", []) if a.get("flow") != f["id"]]
        return "remove flow %s" % f["id"], True
    if kind == "flow_redirect":
        f["destination"] = rnd.choice([i for i in ids if i != f["source"]])
        return "redirect %s to %s" % (f["id"], f["destination"]), True
    p = rnd.choice(FLOW_PROPS)
    props = f.setdefault("properties", {})
    props[p] = not props.get(p, False)
    return "%s.%s = %s" % (f["id"], p, props[p]), True


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    ts, src, which = sys.argv[1:4]
    src = os.path.abspath(src)
    rounds = int(sys.argv[4]) if len(sys.argv) > 4 else 30
    seed = int(sys.argv[5]) if len(sys.argv) > 5 else 7
    tmp = tempfile.mkdtemp(prefix="ts-incr-")
    try:
        env = Env(ts, src, tmp)
        if which == "widgetsrus":
            with open(os.path.join(src, "examples/widgetsrus/model.json")) as f:
                model = json.load(f)
        else:
            path = os.path.join(tmp, "synthetic.json")
            subprocess.run([sys.executable, os.path.join(src, "bench/gen_model.py"), "120",
                            path, str(seed)], check=True)
            with open(path) as f:
                model = json.load(f)
        db = os.path.join(tmp, "t.db")
        env.run(db, "project", "add", "p")
        env.import_model(db, model, 0)
        first = env.generate(db)
        assert first["regenerated"]["scope"] == "all", first["regenerated"]
        again = env.generate(db)
        assert again["regenerated"] == {"scope": "changed", "components": 0,
                                        "of": len(model["components"])}, again["regenerated"]
        assert totals(again) == totals(first)
        rnd = random.Random(seed)
        partial = 0
        for r in range(1, rounds + 1):
            what, local = mutate(model, rnd, r)
            env.import_model(db, model, r)
            inc = env.generate(db)
            got = rows(db)
            full = env.generate(db, "--full")
            after = rows(db)
            d = diff(got, after)
            if d:
                sys.exit("round %d (%s): the partial run differs from a full one: %s"
                         % (r, what, d))
            ch = full["changes"]
            moved = sum(ch["threats"].values()) + sum(ch["countermeasures"].values())
            if moved:
                sys.exit("round %d (%s): the full run changed %s" % (r, what, ch))
            if totals(inc) != totals(full):
                sys.exit("round %d (%s): totals %s vs %s" % (r, what, totals(inc), totals(full)))
            reg = inc["regenerated"]
            if reg["scope"] == "changed":
                partial += 1
            if local and (reg["scope"] != "changed" or reg["components"] >= reg["of"]):
                sys.exit("round %d (%s): a local change regenerated %s" % (r, what, reg))
            print("round %2d: %-45s regenerated %s of %d" % (
                r, what, reg["components"] if reg["scope"] == "changed" else "all", reg["of"]))
            if r % 5 == 0 or r == rounds:
                fresh = os.path.join(tmp, "fresh-%d.db" % r)
                env.run(fresh, "project", "add", "p")
                env.import_model(fresh, model, r)
                env.generate(fresh)
                d = diff(active(got), active(rows(fresh)))
                if d:
                    sys.exit("round %d (%s): differs from a fresh full generation: %s"
                             % (r, what, d))
        if partial < rounds // 2:
            sys.exit("only %d of %d rounds were partial" % (partial, rounds))
        print("ok: %d rounds, %d partial" % (rounds, partial))
    finally:
        shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
