"""Group failing tests by the innermost ember/ frame of their traceback (from a pytest --tb=short log).

Usage: python bench/gpu/triage.py LOG"""
import re, sys, collections
text = open(sys.argv[1]).read()
blocks = re.split(r"\n_{5,} (.*?) _{5,}\n", text)
groups = collections.defaultdict(list)
for name, body in zip(blocks[1::2], blocks[2::2]):
    frames = re.findall(r"^(ember/[^:]+:\d+|/work/main/ember/[^:]+:\d+)", body, re.M)
    err = re.findall(r"^E +(.*)", body, re.M)
    key = (frames[-1].replace("/work/main/", "") if frames else "?") + " | " + (err[0][:90] if err else "?")
    groups[key].append(name)
for k, v in sorted(groups.items(), key=lambda kv: -len(kv[1])):
    print(len(v), k, "  e.g.", v[0])
