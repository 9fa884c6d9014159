#!/usr/bin/env python3
"""Independent extraction of the corpus expectations used by corpus_test.go.

For every FCS file of ../../../shared/data/flow it prints the version, $TOT, $PAR and the $PnN
names of data set 0 (and of coulter.lmd's data set 1), as Go table rows. The TEXT is split
with Python's bytes.split on the delimiter (flowCore's emptyValue=TRUE reading); where that
leaves names missing, the strict escape rule (a doubled delimiter is a literal) is used. This
shares no code with the Go reader. Run from fcs/testdata: python3 corpus_expect.py
"""
import os

ROOT = os.path.join("..", "..", "..", "shared", "data", "flow")


def text_keywords(b, base):
    tb, te = int(b[base + 10:base + 18]), int(b[base + 18:base + 26])
    t = b[base + tb:base + te + 1]
    d = t[0:1]
    body = t[1:].rstrip(b" \x00")
    if body.endswith(d):
        body = body[:-1]
    # Split reading: every delimiter ends a word.
    words = body.split(d)
    kw = {}
    for k, v in zip(words[0::2], words[1::2]):
        kw.setdefault(k.upper(), v)
    par = int(kw[b"$PAR"].strip())
    if all(b"$P%dN" % i in kw for i in range(1, par + 1)):
        return kw
    # Strict reading.
    words, cur, i = [], b"", 0
    while i < len(body):
        c = body[i:i + 1]
        if c == d and body[i + 1:i + 2] == d:
            cur += d
            i += 2
            continue
        if c == d:
            words.append(cur)
            cur = b""
        else:
            cur += c
        i += 1
    words.append(cur)
    kw = {}
    for k, v in zip(words[0::2], words[1::2]):
        kw.setdefault(k.upper(), v)
    return kw


def describe(path, base=0):
    b = open(path, "rb").read()
    kw = text_keywords(b, base)
    par = int(kw[b"$PAR"].strip())
    names = [kw[b"$P%dN" % i].decode("latin-1").strip() for i in range(1, par + 1)]
    return b[base:base + 6].decode(), int(kw[b"$TOT"].strip()), par, names, kw


for dirpath, _, files in sorted(os.walk(ROOT)):
    for f in sorted(files):
        p = os.path.join(dirpath, f)
        rel = os.path.relpath(p, ROOT)
        if "ExpectedResults" in rel or f.endswith((".pdf", ".csv", ".xml", ".wsp", ".md", ".npy", "LICENSE", "comp_match", "compmatrix")):
            continue
        v, tot, par, names, kw = describe(p)
        print('{"%s", 0, "%s", %d, %d, %s},' % (rel, v, tot, par, "[]string{" + ", ".join('"%s"' % n for n in names) + "}"))
        nd = int(kw.get(b"$NEXTDATA", b"0").strip() or 0)
        if nd:
            v, tot, par, names, _ = describe(p, nd)
            print('{"%s", 1, "%s", %d, %d, %s},' % (rel, v, tot, par, "[]string{" + ", ".join('"%s"' % n for n in names) + "}"))
