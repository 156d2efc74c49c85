"""`netralitas normalize` and model/preview.py: the text each model part reads, contestants found."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from netralitas.cli.main import main
from netralitas.model.loading import load_classifier
from netralitas.model.preview import MentionFinder, model_views, normalizer_view
from netralitas.model.text.light import light_text

from .sample_data import write_jsonl

POST = "Gas pol Kang Sukma, coblos no 2! #SukmaLestari"


def test_without_a_model_the_profiles_mask_the_post(profile_path, capsys):
    assert main(["normalize", POST, "--profile", str(profile_path)]) == 0
    out = capsys.readouterr().out
    assert "normalised, contestants masked  gas pol [calon], coblos no [nomor]! [tagar]" in out
    assert "pilbup-uji-2030 contestant 1 (Raden Sukmajaya): [calon] x1, [tagar] x1" in out
    assert "ballot numbers x1" in out


def test_without_profiles_only_ballot_numbers_are_masked_and_a_note_says_so(capsys):
    assert main(["normalize", POST]) == 0
    captured = capsys.readouterr()
    assert "gas pol kang sukma, coblos no [nomor]! sukma lestari" in captured.out
    assert re.search(r"found in post +ballot numbers x1\n", captured.out)
    assert "no --profile given" in captured.err


def test_with_a_model_it_shows_what_the_backend_reads(tfidf_artifact, tmp_path, capsys):
    model = load_classifier(tfidf_artifact)
    rows = [
        {"id": "a", "text": POST, "context": "Ayo dukung Pak Hendro"},
        {"id": "b", "text": "Apel pagi jam 07.00 di halaman kantor"},
    ]
    data = write_jsonl(tmp_path / "posts.jsonl", rows)
    assert main(["normalize", str(data), "--model", str(tfidf_artifact), "--json"]) == 0
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["id"] for r in out] == ["a", "b"]
    view = out[0]["views"]["tfidf: normalised, contestants masked"]
    # Exactly the text the TF-IDF features are computed from (model/backends/tfidf.py).
    assert view == {"text": model.normalizer(POST), "context": model.normalizer(rows[0]["context"])}
    assert view["context"] == "ayo dukung [calon]"
    found = out[0]["contestants"]
    assert found["post"]["mentions"] == [
        {
            "election": "pilbup-uji-2030",
            "contestant": "1 (Raden Sukmajaya)",
            "tokens": {"[calon]": 1, "[tagar]": 1},
        }
    ]
    assert found["context"]["mentions"][0]["contestant"] == "2 (Hendro Wibisono)"
    assert out[1]["contestants"] == {"post": {"mentions": [], "ballot_numbers": 0}}


def test_a_raw_view_model_shows_the_light_text_with_its_prefix():
    from netralitas.model.backends.transformer.classifier import TransformerClassifier

    model = TransformerClassifier(text_view="raw", prefix="query: ", mask_profiles=False)
    text = "  Gas  pol Kang\u200b Sukma!  "
    (view,) = model_views(model)
    assert view.name == "transformer: raw (light_text), prefix 'query: '"
    assert view.read(text) == "query: " + light_text(text) == "query: Gas pol Kang Sukma!"
    # The strings the tokenizer gets when the model scores the post: the prefix is on the post only.
    assert view.read(text) == model.encoder_inputs([text])[0][0]
    context = "Ayo  menangkan\u200b paslon 02"
    assert view.read_context(context) == "Ayo menangkan paslon 02"
    assert view.read_context(context) == model.encoder_inputs([text], [context])[1][0]
    no_context = TransformerClassifier(text_view="raw", use_context=False)
    assert model_views(no_context)[0].read_context is None


def test_a_cascade_shows_both_parts(tfidf_artifact):
    from netralitas.model.backends.cascade import CascadeClassifier

    model = load_classifier(tfidf_artifact)
    cascade = CascadeClassifier(model, model, 0.0)
    names = [v.name for v in model_views(cascade)]
    assert names == [
        "screen tfidf: normalised, contestants masked",
        "model tfidf: normalised, contestants masked",
    ]


def test_mentions_are_per_contestant_and_a_shared_party_counts_for_each(profile):
    finder = MentionFinder([profile])
    assert finder.mentions("Apel pagi di kantor") == []
    (hendro,) = finder.mentions("Pak Hendro dari Partai Samudra")
    assert hendro.contestant == "2 (Hendro Wibisono)"
    assert hendro.tokens == {"[calon]": 1, "[partai]": 1}
    assert finder.ballot_numbers("coblos no 2, salam dua jari") == 2
    assert normalizer_view([profile]).read("Kang Sukma") == "[calon]"


def test_bad_input_is_a_clear_error(tmp_path, profile_path, capsys):
    assert main(["normalize", str(tmp_path / "missing.jsonl")]) == 2
    assert "does not exist; expected an existing .jsonl" in capsys.readouterr().err
    assert main(["normalize", "  "]) == 2
    assert "the text is empty" in capsys.readouterr().err
    data = write_jsonl(tmp_path / "p.jsonl", [{"text": "x"}])
    assert main(["normalize", str(data), "--context", "y"]) == 2
    assert "--context is for one post given as text" in capsys.readouterr().err
    assert main(["normalize", "x", "--profile", str(tmp_path / "nope.toml")]) == 2
    assert "does not exist" in capsys.readouterr().err


@pytest.mark.parametrize("model_flag", [True, False])
def test_profile_replaces_the_models_own(tfidf_artifact, tmp_path, capsys, model_flag):
    other = tmp_path / "lain-2031.toml"
    other.write_text(
        'id = "lain-2031"\ntitle = "Lain"\nelection_type = "pilbup"\nregion = "Lain"\n'
        'year = 2031\n[[contestants]]\nnumber = 1\nnames = ["Joko Tingkir"]\n',
        encoding="utf-8",
    )
    args = ["normalize", "Joko Tingkir dan Kang Sukma", "--profile", str(other)]
    if model_flag:
        args += ["--model", str(tfidf_artifact)]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "[calon] dan kang sukma" in out
    assert "lain-2031 contestant 1 (Joko Tingkir): [calon] x1" in out


def test_the_readme_example_shows_what_the_command_prints(capsys):
    root = Path(__file__).resolve().parents[1]
    readme = (root / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("**See what the model sees**") :]
    command = re.search(r'netralitas normalize (".*?") --profile (\S+)', section)
    shown = re.search(r"```\n(\[1\]\n.*?)```", section, flags=re.S).group(1)
    assert (
        main(["normalize", json.loads(command.group(1)), "--profile", str(root / command.group(2))])
        == 0
    )
    assert capsys.readouterr().out == shown


def test_a_file_is_read_with_the_same_column_flags_as_other_commands(
    profile_path, tmp_path, capsys
):
    data = tmp_path / "export.csv"
    data.write_text("tweet;kelas\nCoblos Kang Sukma;dukung\n", encoding="utf-8")
    assert main(["normalize", str(data), "--profile", str(profile_path)]) == 2
    assert "Perhaps --text-column tweet?" in capsys.readouterr().err
    args = ["normalize", str(data), "--text-column", "tweet", "--profile", str(profile_path)]
    assert main(args) == 0
    assert "coblos [calon]" in capsys.readouterr().out
