#!/usr/bin/env python3
"""Times PySAL's segregation indices on a CSV of districts, for `haven bench segregation`.

Reads columns grp_a, grp_b, grp_c and total; prints JSON with the median seconds of each index
over the given number of runs and the values (so Haven can check it computed the same).
Needs: pip install segregation==2.5.4 (with libpysal and esda).
"""
import json
import statistics
import sys
import time

import pandas as pd
from segregation.multigroup import MultiDissim
from segregation.singlegroup import Dissim, Entropy, Gini


def timed(fn, runs):
    times, value = [], None
    for _ in range(runs):
        start = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), float(value)


def main():
    path, runs = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 3
    df = pd.read_csv(path)
    out = {}
    for name, fn in [
        ("dissimilarity", lambda: Dissim(df, "grp_b", "total").statistic),
        ("entropy", lambda: Entropy(df, "grp_b", "total").statistic),
        ("multi_dissimilarity", lambda: MultiDissim(df, ["grp_a", "grp_b", "grp_c"]).statistic),
        ("gini", lambda: Gini(df, "grp_b", "total").statistic),
    ]:
        seconds, value = timed(fn, runs)
        out[name] = {"seconds": seconds, "value": value}
    import segregation
    out["version"] = segregation.__version__
    print(json.dumps(out))


if __name__ == "__main__":
    main()
