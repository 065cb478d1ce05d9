#!/usr/bin/env python3
"""Compare two describe.py descriptions (scripts/differential/describe.py) and explain the differences.

Usage: compare.py A.json B.json [--ignore IGNORE.tsv]

IGNORE.tsv: one rule a line, `GLOB<TAB>REASON` (lines starting with # and empty lines are skipped).
GLOB is matched (fnmatch: `*` also crosses `/`) against each differing path. A difference whose path
matches a rule is counted under that rule's reason instead of being listed; nothing is hidden: every
rule prints how many paths it covered and a few of them.

A path differs when it is in one description only, or in both with different fields (the fields are
named: sha256/size for content, mode, uid, gid, type, link, xattrs, hardlink_group).
The config and the history are compared whole and never ignored.

Exit status: 0 when every difference is covered by a rule, 1 otherwise.
"""

import fnmatch
import json
import sys


def load_rules(path):
    rules = []
    for line in open(path):
        line = line.rstrip("\n")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        glob, _, reason = line.partition("\t")
        rules.append((glob.strip(), reason.strip() or "(no reason given)"))
    return rules


def main(argv):
    if len(argv) < 2:
        sys.stderr.write(__doc__)
        return 2
    a_path, b_path = argv[0], argv[1]
    rules = []
    if "--ignore" in argv:
        rules = load_rules(argv[argv.index("--ignore") + 1])
    a, b = json.load(open(a_path)), json.load(open(b_path))
    a_files = {f["path"]: f for f in a["files"]}
    b_files = {f["path"]: f for f in b["files"]}

    differences = []  # (path, what)
    for path in sorted(set(a_files) | set(b_files)):
        fa, fb = a_files.get(path), b_files.get(path)
        if fa == fb:
            continue
        if fa is None:
            differences.append((path, "only in B (%s)" % fb["type"]))
        elif fb is None:
            differences.append((path, "only in A (%s)" % fa["type"]))
        else:
            fields = sorted(k for k in set(fa) | set(fb) if k != "path" and fa.get(k) != fb.get(k))
            detail = []
            for field in fields:
                if field in ("sha256",):
                    detail.append("content")
                elif field == "size":
                    detail.append("size %s/%s" % (fa.get("size"), fb.get("size")))
                else:
                    detail.append("%s %s/%s" % (field, fa.get(field), fb.get(field)))
            differences.append((path, ", ".join(detail)))

    covered = {i: [] for i in range(len(rules))}
    unexplained = []
    for path, what in differences:
        for index, (glob, _) in enumerate(rules):
            if fnmatch.fnmatchcase(path, glob):
                covered[index].append((path, what))
                break
        else:
            unexplained.append((path, what))

    same = len(set(a_files) & set(b_files)) - sum(1 for _, w in differences if not w.startswith("only"))
    print("A: %s (%d paths)  B: %s (%d paths)" % (a_path, len(a_files), b_path, len(b_files)))
    print("paths the same on both sides: %d; differing: %d (%d explained by ignore rules, %d not)"
          % (same, len(differences), len(differences) - len(unexplained), len(unexplained)))
    for index, (glob, reason) in enumerate(rules):
        hits = covered[index]
        if not hits:
            continue
        print("  ignored %5d  %-50s %s" % (len(hits), glob, reason))
        for path, what in hits[:3]:
            print("                 e.g. %s: %s" % (path, what))
    if unexplained:
        print("not explained:")
        for path, what in unexplained:
            print("  %s: %s" % (path, what))

    config_same = a["config"] == b["config"]
    print("config: %s" % ("same" if config_same else "DIFFERS"))
    if not config_same:
        for key in sorted(set(a["config"]) | set(b["config"])):
            if a["config"].get(key) != b["config"].get(key):
                print("  %s: A=%s B=%s" % (key, json.dumps(a["config"].get(key)), json.dumps(b["config"].get(key))))
    history_same = a["history"] == b["history"]
    print("history: %s (A %d entries, B %d)" % ("same" if history_same else "DIFFERS", len(a["history"]), len(b["history"])))
    if not history_same:
        print("  A empty_layer: %s" % [h["empty_layer"] for h in a["history"]])
        print("  B empty_layer: %s" % [h["empty_layer"] for h in b["history"]])
    return 0 if not unexplained and config_same and history_same else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
