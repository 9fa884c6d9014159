# Reference values of log h(z), h(z) = phi(z) + z Phi(z), for bo/logei_test.go, computed with
# 40-digit arithmetic (mpmath 1.x): python3 reference.py
import mpmath as mp

mp.mp.dps = 40
for z in [-30, -20, -15, -8, -3, -1, 0, 0.5, 2]:
    z = mp.mpf(z)
    print("logh", mp.nstr(z, 5), mp.nstr(mp.log(mp.npdf(z) + z * mp.ncdf(z)), 20))
