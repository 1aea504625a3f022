#!/usr/bin/python3
"""Development policies only: lets simulated evidence receive resources. Every resource rule
of POLICY.json gets "allow_simulated": true, and rules for the same path (one per
`vigil policy add-workload`) become one rule naming all their workloads. The tenant's explicit
opt-in that `make demo` and the tests make; never for a production policy.

usage: policy-allow-simulated.py POLICY.json   (rewritten in place)"""
import json, sys

path = sys.argv[1]
d = json.load(open(path))
rules = {}
for r in d["resources"]:
    m = rules.setdefault(r["path"], dict(r, workloads=[]))
    m["workloads"] += [w for w in r["workloads"] if w not in m["workloads"]]
    m["allow_simulated"] = True
d["resources"] = list(rules.values())
with open(path, "w") as f:
    json.dump(d, f, indent=2)
