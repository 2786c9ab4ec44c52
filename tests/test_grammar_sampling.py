"""Grammar-constrained, KV-cached sampling with the tiny random model: every output is well formed and has
exactly the requested bars and instruments; seeds reproduce; the cache changes nothing."""

from __future__ import annotations

import random

import pytest
import torch

from codeplay_nb.attributes import EMOTIONS, GENRES, KEYS, Attributes
from codeplay_nb.instruments import FAMILIES, family_of_program
from codeplay_nb.model.grammar import NNNConstraint
from codeplay_nb.model.sample import _filter, draw, sample
from codeplay_nb.tokenizers.base import STEPS_PER_QUARTER

METERS = ((3, 4), (4, 4), (6, 8), (7, 8))


def _request(rng: random.Random):
    n_inst = rng.randint(1, 6)
    pool = [(FAMILIES[f][0], f == "drums") for f in FAMILIES]
    pool += [(p, False) for p in rng.sample(range(128), 6)]
    programs = list(dict.fromkeys(rng.sample(pool, n_inst)))
    if rng.random() < 0.5 and (0, True) not in programs:
        programs[-1] = (0, True)
    attrs = Attributes(genre=rng.choice([*GENRES, None]), emotion=rng.choice([*EMOTIONS, None]),
                       key=rng.choice([*KEYS, None]))
    return attrs, rng.uniform(40, 200), rng.choice(METERS), rng.randint(1, 4), programs


def _prompt_and_constraint(tok, attrs, bpm, ts, n_bars, programs, **kw):
    fams = {family_of_program(p, d) for p, d in programs}
    prompt = tok.ids(tok.header_tokens(attrs, n_bars, fams, bpm, ts))
    bar_steps = [ts[0] * STEPS_PER_QUARTER * 4 // ts[1]] * n_bars
    return prompt, NNNConstraint(tok, programs=programs, bar_steps=bar_steps, **kw)


@pytest.mark.parametrize("case", range(20))
def test_constrained_sampling_gives_exactly_the_request(tiny_model, case):
    tok = tiny_model.tokenizer
    attrs, bpm, ts, n_bars, programs = _request(random.Random(1000 + case))
    prompt, constraint = _prompt_and_constraint(tok, attrs, bpm, ts, n_bars, programs, max_tokens_per_bar=60)
    out = sample(tiny_model.model, prompt, constraint, seed=case)
    assert constraint.done
    ids = prompt + out
    assert tok.check(ids) == []
    piece = tok.decode(ids)
    # check() also verified that every track holds exactly the header's BARS_n bars
    assert f"BARS_{n_bars}" in tok.tokens(prompt)
    bar_ticks = ts[0] * 480 * 4 // ts[1]
    assert piece.bar_span(n_bars - 1)[1] == n_bars * bar_ticks
    assert max(n.start for t in piece.tracks for n in t.notes) < n_bars * bar_ticks
    assert [(t.program if not t.is_drum else 0, t.is_drum) for t in piece.tracks] == programs
    assert all(t.notes for t in piece.tracks)
    assert (piece.time_signatures[0].numerator, piece.time_signatures[0].denominator) == ts
    assert piece.tempos[0].qpm == pytest.approx(bpm, abs=0.05)
    for t in piece.tracks:
        assert all(n.start < piece.length for n in t.notes)
        if t.is_drum:
            assert all(27 <= n.pitch < 88 for n in t.notes)


def test_same_seed_same_ids_and_different_seed_differs(tiny_model):
    tok = tiny_model.tokenizer
    req = (Attributes(genre="rock"), 128.0, (4, 4), 2, [(25, False), (33, False), (0, True)])

    def run(seed):
        prompt, c = _prompt_and_constraint(tok, *req, max_tokens_per_bar=40)
        return sample(tiny_model.model, prompt, c, seed=seed, temperature=1.3)

    assert run(7) == run(7)
    assert run(7) != run(8)


def test_fill_task_fills_every_placeholder(tiny_model, real_pieces):
    from codeplay_nb.music import slice_bars

    tok = tiny_model.tokenizer
    window = slice_bars(real_pieces["real_pop909_003_8bars.mid"], 0, 3)
    cells = {0: {1, 2}, 2: {3}}
    prompt = tok.ids(tok.encode_tokens(window, Attributes(), fill=cells, end=False, keep_empty=True))
    n_fill = tok.tokens(prompt).count("FILL")
    assert n_fill >= 2
    c = NNNConstraint(tok, fill_steps=[4 * STEPS_PER_QUARTER] * n_fill, fill_drum=[False] * n_fill,
                      max_tokens_per_bar=30)
    out = sample(tiny_model.model, prompt, c, seed=3)
    toks = tok.tokens(prompt + out)
    assert tok.check(prompt + out) == []
    assert toks.count("FILL_START") == toks.count("FILL_END") == n_fill
    assert any(t.startswith("PITCH_") for t in tok.tokens(out))


def test_context_overflow_is_closed_legally(tiny_model):
    tok = tiny_model.tokenizer
    prompt, c = _prompt_and_constraint(tok, Attributes(), 120.0, (4, 4), 4, [(0, False), (0, True)])
    out = sample(tiny_model.model, prompt, c, seed=0, max_new_tokens=20)
    assert c.done and tok.check(prompt + out) == []
    assert tok.decode(prompt + out).n_bars == 4


def _reference_draw(scores, top_k, top_p, gen) -> int:
    """Filter over the full sorted vocabulary, then invert the CDF of the most-likely-first order."""
    probs = torch.softmax(_filter(scores, top_k, top_p), dim=-1)
    pv, idx = torch.sort(probs, descending=True)
    cum = torch.cumsum(pv[pv > 0], dim=0)
    u = torch.rand(1, generator=gen) * cum[-1]
    return int(idx[min(int(torch.searchsorted(cum, u)), cum.numel() - 1)])


@pytest.mark.parametrize("case", ["peaked", "flat", "masked"])
@pytest.mark.parametrize("top_p", [0.9, 1.0])
def test_draw_samples_the_filtered_distribution(case, top_p):
    """``draw`` (partial sort + inverse CDF) has the distribution of top-p filtering + multinomial, also
    when the nucleus reaches past the partial sort (flat) and when most tokens are masked."""
    g = torch.Generator().manual_seed(3)
    scores = torch.randn(300, generator=g) * (4.0 if case == "peaked" else 0.05)
    if case == "masked":
        scores[10:] = float("-inf")
    expected = torch.softmax(_filter(scores, 0, top_p), dim=-1)
    gen = torch.Generator().manual_seed(0)
    n = 20000
    counts = torch.bincount(torch.tensor([draw(scores, 0, top_p, gen) for _ in range(n)]), minlength=300).float()
    assert counts[expected == 0].sum() == 0  # never a filtered or masked token
    # total variation distance to the exact distribution is within sampling noise
    tv = 0.5 * (counts / n - expected).abs().sum()
    assert tv < 0.05, tv
    if case == "flat":
        assert (counts > 0).sum() > 200  # the nucleus (270 tokens) reaches well past the 64 probed


def _uncached_reference(model, prompt, constraint, *, temperature, top_k, top_p, seed, steps, uncond=None,
                        guidance=1.0, drum_guidance=None):
    """The plain algorithm: a full forward pass over the whole sequence at every sampled step (with ``uncond``,
    a second one over the unconditional sequence, combined as classifier-free guidance, with strength
    ``drum_guidance`` inside drum tracks)."""
    gen = torch.Generator().manual_seed(seed)
    seq, useq = list(prompt), list(uncond or [])
    out = []
    with torch.inference_mode():
        while not constraint.done and len(out) < steps:
            allowed = constraint.allowed()
            if int(allowed.sum()) == 1:
                tid = int(allowed.nonzero()[0])
            else:
                logits = model(input_ids=torch.tensor([seq])).logits[0, -1].float()
                if uncond is not None:
                    u = model(input_ids=torch.tensor([useq])).logits[0, -1].float()
                    g = drum_guidance if drum_guidance is not None and constraint.in_drum_track else guidance
                    logits = u + g * (logits - u)
                scores = (logits / temperature).masked_fill(~allowed, float("-inf"))
                tid = _reference_draw(scores, top_k, top_p, gen)
            constraint.advance(tid)
            out.append(tid)
            seq.append(tid)
            useq.append(tid)
    return out


@pytest.mark.parametrize("settings", [dict(temperature=1.0, top_k=1, top_p=1.0),  # argmax
                                      dict(temperature=1.0, top_k=0, top_p=0.95),
                                      dict(temperature=0.8, top_k=20, top_p=1.0)])
def test_cached_sampling_equals_the_uncached_reference(tiny_model, settings):
    tok = tiny_model.tokenizer
    req = (Attributes(genre="jazz", key="D minor"), 96.0, (3, 4), 2, [(0, False), (33, False)])
    prompt, c1 = _prompt_and_constraint(tok, *req, max_tokens_per_bar=30)
    cached = sample(tiny_model.model, prompt, c1, seed=11, **settings)
    _, c2 = _prompt_and_constraint(tok, *req, max_tokens_per_bar=30)
    ref = _uncached_reference(tiny_model.model, prompt, c2, seed=11, steps=len(cached), **settings)
    assert ref == cached


@pytest.mark.parametrize("guidance,drum_guidance", [(0.5, None), (2.5, None), (2.5, 1.0), (1.0, 3.0)])
def test_guided_sampling_equals_the_two_pass_reference(tiny_model, guidance, drum_guidance):
    from codeplay_nb.generation import unconditional_prompt

    tok = tiny_model.tokenizer
    req = (Attributes(genre="jazz", emotion="sad", key="D minor"), 96.0, (4, 4), 2, [(0, False), (0, True)])
    prompt, c1 = _prompt_and_constraint(tok, *req, max_tokens_per_bar=30)
    uncond_tokens = unconditional_prompt(tok.tokens(prompt))
    assert uncond_tokens is not None and "GENRE_unknown" in uncond_tokens
    assert "EMOTION_sad" in uncond_tokens  # the emotion is a plain condition in both rows (see GUIDED_PREFIXES)
    assert "KEY_D_minor" in uncond_tokens  # the key is not guided: it has its own bias
    uncond = tok.ids(uncond_tokens)
    settings = dict(temperature=1.0, top_k=0, top_p=0.95, seed=3)
    guided = sample(tiny_model.model, prompt, c1, uncond_prompt=uncond, guidance=guidance,
                    drum_guidance=drum_guidance, **settings)
    _, c2 = _prompt_and_constraint(tok, *req, max_tokens_per_bar=30)
    assert _uncached_reference(tiny_model.model, prompt, c2, steps=len(guided), uncond=uncond, guidance=guidance,
                               drum_guidance=drum_guidance, **settings) == guided
    if guidance > 1 or (drum_guidance or 1) > 1:  # (the tiny model's greedy choice may survive a weak 0.5)
        _, c3 = _prompt_and_constraint(tok, *req, max_tokens_per_bar=30)
        assert sample(tiny_model.model, prompt, c3, **settings) != guided  # it changes the music
    if drum_guidance is not None:  # the piano track follows `guidance` alone, the drum track `drum_guidance`
        _, c4 = _prompt_and_constraint(tok, *req, max_tokens_per_bar=30)
        same = sample(tiny_model.model, prompt, c4, uncond_prompt=uncond, guidance=guidance,
                      drum_guidance=guidance, **settings)
        drum_start = tok.ids(["PROG_DRUMS"])[0]
        cut = guided.index(drum_start) if drum_start in guided else len(guided)
        assert same[:cut] == guided[:cut] and same != guided


def test_no_genre_means_nothing_to_guide(tiny_model):
    from codeplay_nb.generation import unconditional_prompt

    tok = tiny_model.tokenizer
    header = tok.header_tokens(Attributes(key="C major"), 2, {"piano"}, 100.0, (4, 4))
    assert unconditional_prompt(header) is None
    emotional = tok.header_tokens(Attributes(emotion="happy", key="C major"), 2, {"piano"}, 100.0, (4, 4))
    assert unconditional_prompt(emotional) is None  # an emotion alone is conditioned on, not guided


def test_decoding_overrides_set_defaults_only_inside_the_block():
    from codeplay_nb.model.config import DECODING_DEFAULTS, SamplingConfig, decoding_overrides, parse_decoding

    assert SamplingConfig().groove_bias == DECODING_DEFAULTS["groove_bias"]
    with decoding_overrides(**parse_decoding("groove_bias=1.5, guidance=2")):
        assert (SamplingConfig().groove_bias, SamplingConfig().guidance) == (1.5, 2.0)
        assert SamplingConfig(groove_bias=0.0).groove_bias == 0.0  # an explicit value still wins
    assert SamplingConfig().guidance == DECODING_DEFAULTS["guidance"]
    with pytest.raises(ValueError, match="groove_bias"):
        parse_decoding("grove_bias=2")
    with pytest.raises(ValueError):
        SamplingConfig(guidance=0.0)


@pytest.mark.parametrize("name", ["real_pop909_001_8bars.mid", "real_nottingham_ashover1_8bars.mid",
                                  "real_openmsx_tttheme2_8bars.mid", "triplets.mid", "ts_7_8.mid"])
def test_the_grammar_accepts_real_encodings(name, data_dir):
    """Every token of a real piece's encoding (SHIFT/NEXT rhythms, REST runs, shared state) is legal under
    the constraint that guides sampling: the grammar does not forbid music the model was trained on."""
    from codeplay_nb.generation import bar_steps_of
    from codeplay_nb.io import read_midi
    from codeplay_nb.tokenizers.nnn import NNNTokenizer

    tok = NNNTokenizer()
    piece = read_midi(data_dir / name)
    piece = piece.replace(tempos=piece.tempos[:1], time_signatures=piece.time_signatures[:1])
    # a doubled note (same pitch, same onset step: a MIDI artefact) is the one thing the grammar refuses
    from codeplay_nb.music import Track

    tracks = []
    for t in piece.tracks:
        seen, notes = set(), []
        for n in t.notes:
            if (n.pitch, round(n.start * 12 / piece.tpq)) not in seen:
                seen.add((n.pitch, round(n.start * 12 / piece.tpq)))
                notes.append(n)
        tracks.append(Track(t.program, t.is_drum, t.name, tuple(notes)))
    piece = piece.replace(tracks=tuple(tracks))
    toks = tok.encode_tokens(piece)
    body = toks[toks.index("HEADER_END") + 1:]
    tracks = [t for t in piece.tracks if t.notes]
    c = NNNConstraint(tok, programs=[(t.program, t.is_drum) for t in tracks],
                      bar_steps=bar_steps_of(piece, piece.n_bars), max_tokens_per_bar=400, every_bar=False)
    kinds = set()
    for i, t in enumerate(body):
        assert c.allowed()[tok.token_to_id[t]], f"token {i} {t} refused after {body[max(0, i - 8):i]}"
        c.advance(tok.token_to_id[t])
        kinds.add(t.split("_")[0])
    assert c.done
    if name.startswith("real_"):
        assert {"NEXT", "SHIFT", "PITCH"} <= kinds


def test_tilted_reorders_within_a_group_and_keeps_its_probability():
    """The degree balance's tilt changes which pitch is chosen, never how likely a pitch is at all."""
    import torch

    from codeplay_nb.model.sample import tilted

    scores = torch.tensor([0.5, 1.0, 2.0, -1.0, float("-inf"), 0.3, 0.7])
    tilt = torch.tensor([0.0, 3.0, -3.0, 1.0, 5.0, 0.0, 0.0])
    out = tilted(scores, tilt, [(1, 5)])
    p, q = torch.softmax(scores, 0), torch.softmax(out, 0)
    assert torch.isclose(p[1:5].sum(), q[1:5].sum()) and torch.allclose(p[[0, 5, 6]], q[[0, 5, 6]])
    assert q[1] > p[1] and q[2] < p[2] and q[4] == 0  # favoured, disfavoured, still illegal
    assert torch.equal(tilted(scores, tilt, [(4, 5)]), scores)  # an all-illegal group is left alone
