"""Check every function's unzipped size (code plus layers) against Lambda's 250 MB quota.

The sizing itself (the build folders `sam build` wrote, plus managed layers referenced by
ARN at a stated size, since they cannot be downloaded here) lives in bench/lambda_size.py,
which the benchmark report uses too. Fails when a function reaches the quota, or has a
layer it cannot size.

usage: python mk/sam_size.py .aws-sam/build
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository: bench/

from bench.lambda_size import MIB, QUOTA, sizes


def main(argv: list[str]) -> int:
    functions = sizes(Path(argv[1]))
    if functions is None:
        print(f"no sam build in {argv[1]}: run make sam-build", file=sys.stderr)
        return 1
    failed = False
    for f in functions:
        over = f["bytes"] >= QUOTA
        flag = "OVER" if over else "ok"
        detail = ", ".join(f"{p['name']} {p['bytes'] / MIB:.1f}" if p["bytes"] is not None
                           else f"{p['name']} UNKNOWN SIZE" for p in f["parts"])
        print(f"{f['function']}: {f['bytes'] / MIB:.1f} MiB of {QUOTA / MIB:.0f} MiB [{flag}] ({detail})")
        if not f["complete"]:
            print(f"{f['function']}: a layer of unknown size: add it to MANAGED_LAYERS in bench/lambda_size.py",
                  file=sys.stderr)
        failed |= over or not f["complete"]
    if failed:
        print("a function with its layers reaches Lambda's 250 MB unzipped quota (or cannot be sized)",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
