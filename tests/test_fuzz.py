"""Seeded fuzz: 300 mutated copies of the tests/data fixtures through read -> NNN tokenize -> infill (tiny
model), each in a worker subprocess with a 2 GB address-space limit and a 10 s limit per case. Every case
must give a valid result or a one-line CodeplayError: no traceback, no hang, no memory blow-up.
(benchmarks/bench_fuzz.py runs the same on 1,000 mutated real files.)"""

from __future__ import annotations

import random

from codeplay_nb.fuzz import fuzz, make_cases, mutate

N_CASES = 300


def test_mutations_are_seeded_and_varied(data_dir):
    data = (data_dir / "type1.mid").read_bytes()
    a = [mutate(data, random.Random(7)) for _ in range(3)]
    b = [mutate(data, random.Random(7)) for _ in range(3)]
    assert a == b
    many = {mutate(data, random.Random(s)) for s in range(50)}
    assert len(many) >= 45 and data not in many


def test_fuzzed_fixtures_give_a_result_or_one_line_error(data_dir, tmp_path):
    sources = sorted(data_dir.glob("*.mid"))
    cases = make_cases(sources, N_CASES, seed=0, out=tmp_path)
    counts, results = fuzz(cases, timeout_s=10.0, memory_bytes=2 * 2**30)
    bad = [(p.name, r) for p, r in results if r["outcome"] not in ("ok", "error")]
    assert not bad, bad[:5]
    assert counts["ok"] + counts["error"] == N_CASES
    # the fuzz reaches past the parser: many mutants read, tokenize and infill
    assert counts["ok"] >= N_CASES // 10, counts
    assert max(r.get("max_rss_mb", 0) for _, r in results) < 2048
