"""The benchmark's measurements that need a process of their own, run as ``python -m qa.bench.worker``.

    python -m qa.bench.worker build CORPUS INDEX_DIR DENSE_INDEX [--progress|--quiet]
    python -m qa.bench.worker stages CORPUS SAMPLE SEED
    python -m qa.bench.worker query INDEX_DIR CORPUS QUESTIONS SEED

Each prints one line of JSON on stdout (progress bars go to stderr).
"""

from __future__ import annotations

import json
import sys

from qa.bench import measure


def main(argv: list[str]) -> int:
    """Run one measurement and print its figures as JSON."""
    command, *args = argv
    if command == "build":
        corpus, index_dir, dense_index, *flags = args
        result = measure.build(corpus, index_dir, dense_index, progress="--progress" in flags)
    elif command == "stages":
        corpus, sample, seed = args
        result = measure.stage_rates(corpus, int(sample), int(seed))
    elif command == "query":
        index_dir, corpus, questions, seed = args
        result = measure.query(index_dir, corpus, int(questions), int(seed))
    else:
        raise SystemExit(f"unknown command {command!r}")
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
