"""Recomputes the ISO/IEC 7064 MOD 37-2 vectors of gmp.md §2.4 and §2.6 used in din_test.go.

Run: python3 mod37_vectors.py. Both forms of gmp.md §2.4 are computed independently of the Go
code: the position-weighted sum S = sum(v(c) * 2**n), n = 1 for the rightmost character, and
the recursive form p = ((p + v) * 2) mod 37. Each line prints True when the document's row
(S, S mod 37, check value, K, Type 3 flag, off-by-one K) is reproduced and the two forms agree.
"""
A = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ*"


def S(s):
    n = len(s)
    return sum(A.index(c) * 2 ** (n - i) for i, c in enumerate(s))


def k(s):  # position-weighted form
    return (38 - S(s) % 37) % 37


def rec(s):  # recursive form
    p = 0
    for c in s:
        p = ((p + A.index(c)) * 2) % 37
    return (1 - p) % 37


# DIN, S, S mod 37, check value, K, Type 3 flag, off-by-one K (gmp.md §2.4 table)
vectors = """G123417654321 146178 28 10 A 70 9
G123498654321 148354 21 17 H 77 G
A999818123456 152048 15 23 N 83 M
W000009123456 263536 22 16 G 76 F
A999921123456 151920 35 3 3 63 2
A999917123456 152432 29 9 9 69 8
A999917123654 152444 4 34 Y 94 X
A999820123456 151280 24 14 E 74 D
A999914123456 152048 15 23 N 83 M
C000307001466 100820 32 6 6 66 5
A999922123459 152054 21 17 H 77 G
A999922654321 152450 10 28 S 88 R
A999922123458 152052 19 19 J 79 I
A999922012346 151924 2 36 * 96 Z
A999522123456 150000 2 36 * 96 Z"""
for line in vectors.splitlines():
    d, s, m, cv, K, f, ob = line.split()
    got = (S(d), S(d) % 37, k(d), A[k(d)], 60 + k(d), A[(37 - S(d) % 37) % 37])
    exp = (int(s), int(m), int(cv), K, int(f), ob)
    print(d, got == exp and rec(d) == k(d), "" if got == exp else got)

# Generic vectors (not DINs) and the COI example of §2.6.
for g, e in [("ABCDE27000069", "C"), ("ZZZZ", "O"), ("ABCDEFGHIJKLMNOPQRSTUVWX", "*"),
             ("Z" * 26, "9"), ("0", "1"), ("1", "*"), ("CHA999925AB1234", "A")]:
    print(g, A[k(g)] == e == A[rec(g)], A[k(g)])

# Negative vectors: K must not match. The shifted string of pitfall 4 does match.
for n in ["A999915123456N", "F123498654321H", "A999922564321S", "A999920212346*",
          "A999933123458J", "G123468954321H"]:
    print(n, A[k(n[:13])] != n[13], "expected", A[k(n[:13])])
print("NA999914123456 matches (pitfall 4):", A[k("NA99991412345")] == "6")

# Pitfall 2: weights 2**0 .. 2**12 give O for the worked example.
d = "G123417654321"
s0 = sum(A.index(c) * 2 ** (len(d) - 1 - i) for i, c in enumerate(d))
print("wrong weights give", A[(38 - s0 % 37) % 37])
