"""Exact arithmetic for the dose tests (gmp.md §5), independent of the Go code.

Run: python3 dose_examples.py. Every input is taken as the decimal written in gmp.md, with
Fraction, so the results are exact; the Go tests compare against these to 1e-12 relative and
against gmp.md's own rounded figures at the precision it prints them.
"""
from fractions import Fraction as F
import math

def dose(tnc, via, nk, cd3, bw, target, cap, avail, res=F(1, 10), vmax=None, bag=None, minbags=1,
         endo=None, dmso=None):
    cNK = tnc * via / 100 * nk / 100
    cT = tnc * via / 100 * cd3 / 100
    terms = [("nk_target", target * bw / cNK)]
    if cT > 0:
        terms.append(("t_cell_cap", cap * bw / cT))
    terms.append(("available_volume", avail))
    if vmax:
        terms.append(("max_volume", vmax * bw))
    name, v = min(terms, key=lambda t: t[1])   # min keeps the first on ties
    V = math.floor(v / res) * res
    n = max(minbags, 1)
    if bag:
        n = max(n, math.ceil(V / bag))
    per = math.floor(V / n / res) * res
    tot = per * n
    out = dict(cNK=cNK, cT=cT, terms=dict(terms), limited=name, V=V, bags=n, per=per, total=tot,
               nk=tot * cNK / bw, cd3=tot * cT / bw, pct=tot * cNK / bw / target * 100)
    if endo is not None:
        out["endo"] = endo * tot / bw
    if dmso is not None:
        out["dmso"] = dmso * tot / bw
    return out

def show(title, d):
    print(title)
    for k, v in d.items():
        if isinstance(v, dict):
            for kk, vv in v.items():
                print(f"  V[{kk}] = {float(vv)!r}")
        elif isinstance(v, F):
            print(f"  {k} = {float(v)!r}  ({v})")
        else:
            print(f"  {k} = {v}")

# Worked example 1: TNC 2.0e7/mL, viability 92 %, NK 94 %, CD3+ 0.6 %, BW 72.4 kg, target 1e7 NK/kg,
# cap 1e5 CD3+/kg, 95 mL available, endotoxin 0.5 EU/mL, 10 % v/v DMSO = 0.110 g/mL.
show("example 1", dose(F(2 * 10**7), F(92), F(94), F(6, 10), F(724, 10), F(10**7), F(10**5), F(95),
                       endo=F(1, 2), dmso=F(11, 100)))
# Worked example 2: the same with CD3+ 2.0 %.
show("example 2", dose(F(2 * 10**7), F(92), F(94), F(2), F(724, 10), F(10**7), F(10**5), F(95)))
# Bag example: 1e8 NK/kg for 70 kg at c_NK 1.7296e7/mL, 200 mL bags (no CD3+ cells, 500 mL available).
show("bags", dose(F(2 * 10**7), F(92), F(94), F(0), F(70), F(10**8), F(10**5), F(500), bag=F(200)))
# The brief's line: 1e7/kg for 64 kg.
show("64 kg", dose(F(2 * 10**7), F(92), F(94), F(6, 10), F(64), F(10**7), F(10**5), F(95)))
