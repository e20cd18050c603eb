"""Issue 4's HTTP benchmark flag sets: 100 flags (50 static, 30 targeted with three
conditions, 20 percentage rollouts) as a flagd document for rodeo, and the equivalent
Unleash features file for unleash-edge (offline mode), so both servers evaluate the same
logic. The targeted flags' third condition is numeric (seats >= 10), not a version
comparison: unleash-edge's frontend API did not match SEMVER_GTE on a context property in
our tries, and an always-false condition would flatter it. Usage: python3 bench/flags.py <out-dir>"""
import json
import sys

out = sys.argv[1]
flags, features = {}, []


def toggle(name, strategies, enabled=True):
    return {"name": name, "type": "release", "enabled": enabled, "project": "default",
            "stale": False, "strategies": strategies, "variants": [], "impressionData": False}


for i in range(50):
    key = f"static-{i:02d}"
    disabled = i % 10 == 9
    flags[key] = {"state": "DISABLED" if disabled else "ENABLED", "variants": {"on": True, "off": False},
                  "defaultVariant": "on"}
    features.append(toggle(key, [{"name": "default", "parameters": {}, "constraints": []}], enabled=not disabled))
for i in range(30):
    key = f"targeted-{i:02d}"
    flags[key] = {"state": "ENABLED", "variants": {"on": True, "off": False}, "defaultVariant": "off",
                  "targeting": {"if": [{"and": [
                      {"ends_with": [{"var": "email"}, "@acme.com"]},
                      {"in": [{"var": "plan"}, ["pro", "enterprise"]]},
                      {">=": [{"var": "seats"}, 10]}]}, "on", "off"]}}
    features.append(toggle(key, [{"name": "default", "parameters": {}, "constraints": [
        {"contextName": "email", "operator": "STR_ENDS_WITH", "values": ["@acme.com"], "inverted": False, "caseInsensitive": False},
        {"contextName": "plan", "operator": "IN", "values": ["pro", "enterprise"], "inverted": False, "caseInsensitive": False},
        {"contextName": "seats", "operator": "NUM_GTE", "value": "10", "inverted": False, "caseInsensitive": False}]}]))
for i in range(20):
    key = f"rollout-{i:02d}"
    flags[key] = {"state": "ENABLED", "variants": {"on": True, "off": False}, "defaultVariant": "off",
                  "targeting": {"fractional": [["on", 25], ["off", 75]]}}
    features.append(toggle(key, [{"name": "flexibleRollout", "constraints": [],
                                  "parameters": {"rollout": "25", "stickiness": "userId", "groupId": key}}]))

json.dump({"flags": flags}, open(f"{out}/flags-100.json", "w"))
json.dump({"version": 1, "features": features}, open(f"{out}/unleash-features.json", "w"))
