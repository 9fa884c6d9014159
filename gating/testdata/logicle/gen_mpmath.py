#!/usr/bin/env python3
"""Reference values for the logicle and hyperlog transformations, in 60-digit arithmetic.

Writes mpmath.csv next to this script: one row per (transformation, parameters, direction, input)
with the exact result to 25 significant digits. The functions are computed straight from their
definitions in Gating-ML 2.0 (Spidlen et al., Cytometry A 87A:683, 2015; shared/docs/flow.md
section 3), independently of the Go code:

  logicle:  B(y)  = a e^(by) - c e^(-dy) - f, d the root in (0, b] of 2(ln d - ln b) + w(b+d) = 0,
            c_a = e^(x0(b+d)), mf_a = e^(b x1) - c_a e^(-d x1), a = T/(e^b - mf_a - c_a e^(-d)),
            c = c_a a, f = a mf_a
  hyperlog: EH(y) = a e^(by) + c y - f, e0 = e^(b x0), c_a = e0/w, f_a = e^(b x1) + c_a x1,
            a = T/(e^b + c_a - f_a), c = c_a a, f = f_a a
  common:   w = W/(M+A), x2 = A/(M+A), x1 = x2 + w, x0 = x2 + 2w, b = (M+A) ln 10

with negative values by odd symmetry about x1: scale(-v) = 2 x1 - scale(v), inverse(y) = -F(2 x1 - y)
for y < x1. Inputs are float64 values (written with repr, so Go reads the same binary value) and
are converted exactly to mpmath numbers.

Near x1 the three terms of F cancel, so results of size v are computed with about -log10|v|
more digits.

Run: python3 gen_mpmath.py   (mpmath 1.3.0)
"""
import csv
import math
import os

from mpmath import mp, mpf, exp, log, findroot, nstr

mp.dps = 60


def logicle(T, W, M, A):
    T, W, M, A = mpf(T), mpf(W), mpf(M), mpf(A)
    w = W / (M + A)
    x2 = A / (M + A)
    x1 = x2 + w
    x0 = x2 + 2 * w
    b = (M + A) * log(10)
    if w == 0:
        d = b
    else:
        g = lambda d: 2 * (log(d) - log(b)) + w * (b + d)
        # g is increasing on (0, b]; bracket the root by bisection, then polish.
        lo, hi = b / 2, b
        while g(lo) > 0:
            lo /= 2
        d = findroot(g, (lo, hi), solver='anderson')
        d = findroot(g, d)
    ca = exp(x0 * (b + d))
    mfa = exp(b * x1) - ca * exp(-d * x1)
    a = T / (exp(b) - mfa - ca * exp(-d))
    c = ca * a
    f = a * mfa
    F = lambda y: a * exp(b * y) - c * exp(-d * y) - f
    dF = lambda y: a * b * exp(b * y) + c * d * exp(-d * y)
    return F, dF, x1


def hyperlog(T, W, M, A):
    T, W, M, A = mpf(T), mpf(W), mpf(M), mpf(A)
    w = W / (M + A)
    x2 = A / (M + A)
    x1 = x2 + w
    x0 = x2 + 2 * w
    b = (M + A) * log(10)
    e0 = exp(b * x0)
    ca = e0 / w
    fa = exp(b * x1) + ca * x1
    a = T / (exp(b) + ca - fa)
    c = ca * a
    f = fa * a
    F = lambda y: a * exp(b * y) + c * y - f
    dF = lambda y: a * b * exp(b * y) + c
    return F, dF, x1


def inverse(F, x1, y):
    y = mpf(y)
    if y < x1:
        return -F(2 * x1 - y)
    return F(y)


def scale(F, dF, x1, x):
    x = mpf(x)
    if x < 0:
        return 2 * x1 - scale(F, dF, x1, -x)
    if x == 0:
        return x1
    # F is increasing from F(x1) = 0: bracket the root, bisect to 60 bits, finish with Newton.
    lo, hi = x1, x1 + 1
    while F(hi) < x:
        lo, hi = hi, x1 + 2 * (hi - x1)
    for _ in range(200):
        mid = (lo + hi) / 2
        if F(mid) < x:
            lo = mid
        else:
            hi = mid
        if hi - lo < mpf(2) ** -60 * (hi - x1):
            break
    y = (lo + hi) / 2
    for _ in range(4):
        y -= (F(y) - x) / dF(y)
    return y


LOGICLE = [
    (262144, 0.5, 4.5, 0),   # the usual cytometer setting
    (10000, 0.5, 4.5, 0),    # ISAC gates1.xml Logicle_10000_0.5_4.5_0
    (10000, 1, 4, 0.5),      # ISAC gates1.xml Logicle_10000_1_4_0.5
    (1000, 1, 4, 0),         # the Gating-ML example used by FlowUtils' tests
    (10000, 0, 4.5, 0),      # W = 0: d = b
    (10000, 2.25, 4.5, 0),   # W = M/2
    (10000, 1, 4.5, -1),     # A = -W: x1 = 0
    (1000, 0.5, 4.5, 3.5),   # A = M - 2W: x0 = 1
    (262144, 0.3, 5.2, 0.7),
    (1, 0.1, 1, 0),
    (1e6, 1.5, 7, 0.25),
]
HYPERLOG = [
    (10000, 1, 4.5, 0),      # ISAC gates1.xml Hyperlog_10000_1_4.5_0
    (1000, 1, 4, 0),         # the Gating-ML example used by FlowUtils' tests
    (262144, 0.5, 4.5, 0),
    (10000, 2.25, 4.5, 0),
    (10000, 1, 4.5, -1),
    (1000, 0.5, 4.5, 3.5),
    (10000, 0.01, 4.5, 0),
    (1, 0.1, 1, 0),
]


def xs(T):
    out = [0.0, 1e-300, 1e-12, 1e-6, 1e-3, 0.1, 0.3, 1.0, 3.0, 10.0, 31.6, 100.0, 1000.0,
           T / 3, T * 0.999, float(T), 3.0 * T, 1e12, 1e100]
    out = sorted(set(out))
    return [-v for v in reversed(out) if v > 0] + out


def ys(x1):
    x1 = float(x1)
    out = [-0.5, -0.1, 0.0, 0.01, x1 - 1e-9, x1, x1 + 1e-12, x1 + 1e-6, x1 + 0.01, 0.3, 0.5, 0.75,
           0.9, 1.0, 1.1, 1.5]
    return sorted(set(out))


def digits(v):
    """Extra decimal digits to carry when the result is of size v: the three terms of F cancel
    down to it, so the constants and F need about -log10|v| more digits."""
    v = abs(float(v))
    if v == 0 or v >= 1:
        return 0
    return int(-math.log10(v)) + 5


def main():
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'mpmath.csv')
    with open(path, 'w', newline='') as fh:
        wr = csv.writer(fh, lineterminator='\n')
        wr.writerow(['transform', 'T', 'W', 'M', 'A', 'direction', 'input', 'output'])
        for name, make, sets in (('logicle', logicle, LOGICLE), ('hyperlog', hyperlog, HYPERLOG)):
            for (T, W, M, A) in sets:
                p = [repr(float(v)) for v in (T, W, M, A)]
                x1 = float(make(T, W, M, A)[2])
                for x in xs(float(T)):
                    with mp.workdps(60 + digits(x)):
                        F, dF, x1m = make(T, W, M, A)
                        y = scale(F, dF, x1m, x)
                        wr.writerow([name] + p + ['scale', repr(x), nstr(y, 25)])
                for y in ys(x1):
                    with mp.workdps(60 + digits(y - x1)):
                        F, dF, x1m = make(T, W, M, A)
                        wr.writerow([name] + p + ['inverse', repr(y), nstr(inverse(F, x1m, y), 25)])


if __name__ == '__main__':
    main()
