"""The Dask engine on a real LocalCluster writes the same output as the local engine, row by row."""
import pandas as pd
import pytest

from redflags.batch.score import score_file

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("multiline", [False, True])
def test_dask_matches_local(tmp_path, tiny_model_path, multiline):
    rows = []
    for i in range(400):
        text = ["He mocked my degree and laughed at me.", "Friendly panel, clear questions.",
                "They asked me to pay for a training kit.", ""][i % 4]
        if multiline and i % 7 == 0:
            text = f"Line one of answer {i}.\nLine two, with a comma."
        rows.append({"rid": f"r{i}", "answer": text, "score": str(i % 5)})
    src = tmp_path / "in.csv"
    pd.DataFrame(rows).to_csv(src, index=False)
    local, dask_out = tmp_path / "local.csv", tmp_path / "dask.csv"
    score_file(str(src), str(local), text_column="answer", model_path=tiny_model_path, chunksize=50, quiet=True)
    score_file(str(src), str(dask_out), text_column="answer", model_path=tiny_model_path, chunksize=50,
               engine="dask", quiet=True)
    a = pd.read_csv(local, dtype=str, keep_default_na=False)
    b = pd.read_csv(dask_out, dtype=str, keep_default_na=False)
    assert len(a) == len(b) == 400
    pd.testing.assert_frame_equal(a, b)


def test_dask_reads_parquet(tmp_path, tiny_model_path):
    src = tmp_path / "in.parquet"
    pd.DataFrame({"answer": ["The manager mocked my degree and rolled his eyes at every answer.", "Fine interview."] * 50}).to_parquet(src, row_group_size=20)
    out = tmp_path / "out.csv"
    score_file(str(src), str(out), text_column="answer", model_path=tiny_model_path, engine="dask", quiet=True)
    got = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert len(got) == 100 and got["red_flags"].iloc[0] == "disrespect"


@pytest.mark.parametrize("jobs", [1, 3])
def test_dask_local_cluster_has_as_many_workers_as_jobs(tmp_path, tiny_model_path, monkeypatch, jobs):
    import dask.distributed

    real, seen = dask.distributed.LocalCluster, []

    def recording(*args, **kwargs):
        cluster = real(*args, **kwargs)
        seen.append(len(cluster.workers))
        return cluster

    monkeypatch.setattr(dask.distributed, "LocalCluster", recording)
    src = tmp_path / "in.csv"
    pd.DataFrame({"answer": ["Fine interview."] * 20}).to_csv(src, index=False)
    score_file(str(src), str(tmp_path / "out.csv"), text_column="answer", model_path=tiny_model_path,
               engine="dask", jobs=jobs, quiet=True)
    assert seen == [jobs]
