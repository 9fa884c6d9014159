#!/usr/bin/env python3
"""Writes sobol_scipy.json: points of the unscrambled Sobol sequence from SciPy, which uses
Joe and Kuo's new-joe-kuo-6.21201 direction numbers and the same Gray code order as their
reference program.

Run with Debian's python3-scipy (SciPy 1.10.1, NumPy 1.24.2):

    python3 sobol.py > sobol_scipy.json

"first" holds the first 32 points in all 128 dimensions (multiples of 2^-30, exact in
binary and in JSON). "checksums" holds, for each dimension j, an FNV-1a style hash of the first 2^14
points: h = 14695981039346656037, then h = ((h xor int(x_ij * 2^30)) * 1099511628211) mod 2^64
for i = 0, 1, ...: it exercises every direction number that 2^14 points use, which the first
32 points alone do not.
"""
import json

import numpy as np
import scipy
from scipy.stats import qmc

D, FIRST, M = 128, 32, 14

x = qmc.Sobol(D, scramble=False).random_base2(M)
ints = np.rint(x * 2**30).astype(np.uint64)
assert np.all(ints.astype(np.float64) == x * 2**30)
checksums = []
for j in range(D):
    h = 14695981039346656037
    for v in ints[:, j].tolist():
        h = ((h ^ v) * 1099511628211) % 2**64
    checksums.append(h)

json.dump(
    {
        "source": f"scipy.stats.qmc.Sobol(d={D}, scramble=False), SciPy {scipy.__version__}",
        "first": x[:FIRST].tolist(),
        "checksum_points": 2**M,
        "checksums": checksums,
    },
    __import__("sys").stdout,
)
