"""The Ray engine gives the local engine's rows: on a local Ray cluster (2 CPUs: an actor pool of
2, the model loaded once per actor) and on a cluster of two nodes of one CPU each
(``ray.cluster_utils.Cluster``), where it also finishes a killed local run (``resume``)."""

from __future__ import annotations

import shutil

import pytest

ray = pytest.importorskip("ray")  # the ray extra; `make test` installs it

from tympan.engines import features_to_parquet, predict_to_parquet, read_manifest  # noqa: E402
from tympan.errors import ParameterError  # noqa: E402


@pytest.fixture(scope="module")
def ray_cluster():
    """A local Ray cluster of 2 CPUs for this module, shut down after it."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def test_ray_rows_equal_local_rows(ray_cluster, local_preds, tiny_run, corpus, tmp_path, rows, same_rows):
    out = tmp_path / "preds"
    summary = predict_to_parquet(tiny_run, corpus, out=out, engine="ray", shard_size=3, batch_size=2,
                                 progress=False)
    assert summary["shards_written"] == 4 and summary["errors"] == 1 and summary["engine"] == "ray"
    assert read_manifest(out)["engine"] == "ray" and read_manifest(out)["complete"] is True
    same_rows(rows(out), rows(local_preds[0]))
    features_to_parquet(corpus, out=tmp_path / "local-mels", sr=8000, duration=1.0, shard_size=4,
                        progress=False)
    mels = tmp_path / "mels"
    summary = features_to_parquet(corpus, out=mels, engine="ray", workers=2, sr=8000, duration=1.0,
                                  n_fft=256, hop_length=80, n_mels=40, shard_size=4, progress=False)
    assert summary["errors"] == 1
    assert rows(mels) == rows(tmp_path / "local-mels")  # numpy alone: the same numbers exactly
    with pytest.raises(ParameterError, match=r"workers=3 but the Ray cluster has 2 CPU\(s\)"):
        features_to_parquet(corpus, out=tmp_path / "more", engine="ray", workers=3, progress=False)
    assert not (tmp_path / "more").exists() and ray.is_initialized()  # the caller's connection kept


def test_two_nodes_finish_a_killed_local_run(local_preds, tiny_run, corpus, tmp_path, rows, same_rows):
    from ray.cluster_utils import Cluster

    if ray.is_initialized():
        ray.shutdown()  # the module's local cluster: this test makes its own
    out = tmp_path / "preds"
    shutil.copytree(local_preds[0], out)
    for k in (0, 3):
        (out / f"part-0000{k}.parquet").unlink()
    (out / ".part-00003.parquet.0badf00d.tmp").write_bytes(b"half a shard")
    before = {p.name: p.stat().st_mtime_ns for p in out.glob("part-*.parquet")}
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    try:
        cluster.add_node(num_cpus=1)
        cluster.wait_for_nodes()
        ray.init(address=cluster.address, log_to_driver=False)  # the job joins this connection
        assert len([n for n in ray.nodes() if n["Alive"]]) == 2
        summary = predict_to_parquet(tiny_run, corpus, out=out, engine="ray", address=cluster.address,
                                     workers=2, shard_size=3, batch_size=2, resume=True, progress=False)
        assert ray.is_initialized()  # a cluster the caller joined is left to the caller
    finally:
        if ray.is_initialized():
            ray.shutdown()
        cluster.shutdown()
    assert summary["shards_written"] == 2 and summary["shards_skipped"] == 2 and summary["rows_written"] == 5
    after = {p.name: p.stat().st_mtime_ns for p in out.glob("part-*.parquet")}
    assert {name for name in after if after[name] != before.get(name)} == {"part-00000.parquet",
                                                                          "part-00003.parquet"}
    assert not list(out.glob(".*.tmp"))
    same_rows(rows(out), rows(local_preds[0]))


def test_a_batch_ray_gives_up_on_is_one_clean_error(tmp_path):
    import ray

    from tympan.engines import ray_engine
    from tympan.errors import TympanError

    class Output:
        out = tmp_path / "preds.parquet"

    def batches():
        yield "first"
        raise ray.exceptions.RayError("worker died: SIGSEGV")

    got = []
    with pytest.raises(TympanError, match=r"failed 3 times on one batch .*SIGSEGV.*preds\.parquet; --resume"):
        for b in ray_engine._worker_failures(ray, batches(), Output()):
            got.append(b)
    assert got == ["first"] and ray_engine.RETRIES == 2
