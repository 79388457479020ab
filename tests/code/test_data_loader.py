"""The corpus loader rejects broken files with the file, the row id and the problem."""
import pytest

from redflags.training.data import CorpusError, load_anecdotes, parse_labels

HEADER = "id,text,labels,recommendation,style\n"


def write(tmp_path, body, header=HEADER, name="c.csv"):
    path = tmp_path / name
    path.write_text(header + body, encoding="utf-8")
    return path


def test_good_file_loads(tmp_path):
    path = write(tmp_path, 'a1,"He yelled, then left.",disrespect,end_interview,chat\na2,Fine.,,continue,survey\n')
    corpus = load_anecdotes(path)
    assert len(corpus) == 2
    assert corpus.label_sets == [["disrespect"], []]
    assert corpus.Y.sum() == 1 and len(corpus.sha256) == 64


@pytest.mark.parametrize("body, expected", [
    # an id outside the taxonomy
    ("a1,Text,rudeness,continue,x\n", "row a1: unknown label(s) ['rudeness']"),
    # blank text
    ("a1,   ,,continue,x\n", "row a1: empty text"),
    # the same id twice
    ("a1,One,,continue,x\na1,Two,,continue,x\n", "row a1: duplicate id"),
    # the same text twice (case and spacing folded)
    ("a1,Same  text,,continue,x\na2,same text,,continue,x\n", "row a2: duplicate text (same as row a1)"),
    # a recommendation outside the taxonomy
    ("a1,Text,,walk_out,x\n", "row a1: bad recommendation 'walk_out'"),
    # the contract: no red flag never ends the interview
    ("a1,Text,,end_interview,x\n", "row a1: end_interview with no red flag"),
    # a label repeated
    ("a1,Text,scam;scam,end_interview,x\n", "row a1: a label is repeated"),
])
def test_row_problems_are_named(tmp_path, body, expected):
    path = write(tmp_path, body)
    with pytest.raises(CorpusError) as err:
        load_anecdotes(path)
    assert str(path) in str(err.value)
    assert expected in str(err.value)


def test_wrong_columns(tmp_path):
    path = write(tmp_path, "a1,Text,,continue\n", header="id,body,labels,recommendation\n")
    with pytest.raises(CorpusError, match=r"wrong columns: missing \['text'\], unexpected \['body'\]"):
        load_anecdotes(path)


def test_missing_and_empty_files(tmp_path):
    with pytest.raises(CorpusError, match="no such file"):
        load_anecdotes(tmp_path / "nope.csv")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(CorpusError, match="empty"):
        load_anecdotes(tmp_path / "empty.csv")


def test_not_utf8(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes(HEADER.encode() + "a1,caf\xe9,,continue,x\n".encode("latin-1"))
    with pytest.raises(CorpusError, match="UTF-8"):
        load_anecdotes(path)


def test_all_problems_reported_at_once(tmp_path):
    path = write(tmp_path, "a1,,,continue,x\na2,T,bogus,continue,x\n")
    with pytest.raises(CorpusError, match="2 problem"):
        load_anecdotes(path)


@pytest.mark.parametrize("cell, labels", [("", []), ("scam", ["scam"]), ("scam; harassment;", ["scam", "harassment"])])
def test_parse_labels(cell, labels):
    assert parse_labels(cell) == labels
