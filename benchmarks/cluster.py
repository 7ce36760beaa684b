"""Benchmark of the out-of-core engines (issue "Beyond one machine"): dask LocalCluster and Spark local[2].

Cases (full sizes by default; ``--scale`` multiplies every row count):

1. 1-D Epps–Pulley of 4 float32 columns, 2e8 rows of Parquet (~3.2 GB) on a dask
   ``LocalCluster`` of 2 worker processes (1 GiB memory limit each):
   ``normtest.dask.check``. Peak resident memory of every process and throughput
   (values/s) against the in-memory kernel (``normtest.epps_pulley`` of an
   in-memory float64 block) on the same machine.
2. Sliced Epps–Pulley, (2e7, 128) float32 Parquet (~10 GB), 256 slices, on the
   same cluster: time against reading the files once (the same cluster summing
   every partition), and the statistic against a chunked in-memory run (the
   streaming accumulator fed file by file in this process).
3. Spark ``local[2]``, 1e7 rows x 4 columns: ``normtest.spark.check`` against
   ``normtest.check`` of the same data in memory.
4. Merging: the sliced statistic for several partitionings (bit-identical for a
   fixed one, relative spread across them).

Run ``python benchmarks/cluster.py --scale 0.01`` for a quick run; the data are
written to ``--dir`` (reused when present) and a JSON summary to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))


def peak_rss_mb():
    """Peak resident memory of this process in MB (Linux: ru_maxrss is in kB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def write_parquet(path, n_rows, n_cols, *, rows_per_file, seed):
    """Write the data set once, file by file (one file's block in memory at a time, <= ~60 MB).

    Reused when complete (a ``_COMPLETE`` marker written last); each file is written under
    a temporary name and renamed, so an interrupted run leaves no half-written data set
    that a later run would take for the real one. A partial set is resumed: the files are
    drawn from per-file seeds, so finished files need not be rewritten.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    os.makedirs(path, exist_ok=True)
    marker = os.path.join(path, "_COMPLETE")
    if os.path.exists(marker):
        return
    names = [f"x{j}" for j in range(n_cols)]
    for i, lo in enumerate(range(0, n_rows, rows_per_file)):
        final = os.path.join(path, f"part-{i:05d}.parquet")
        if os.path.exists(final):
            continue
        gen = np.random.default_rng([seed, i])
        k = min(rows_per_file, n_rows - lo)
        block = gen.standard_normal((k, n_cols), dtype=np.float32)
        if n_cols <= 8:
            block[:, -1] = gen.standard_exponential(k, dtype=np.float32)
        table = pa.table({c: block[:, j] for j, c in enumerate(names)})
        del block
        tmp = os.path.join(path, f"_part-{i:05d}.tmp")   # "_" names are not read as data
        pq.write_table(table, tmp, row_group_size=min(k, 1 << 20))
        os.replace(tmp, final)
    with open(marker, "w") as fh:
        fh.write(f"{n_rows} rows x {n_cols} float32 columns, seed {seed}\n")


def warm_up():
    """Compile the numba kernels in this process (run on every worker before timing)."""
    import normtest
    from normtest.streaming import EppsPulley, SlicedEppsPulley, accumulate

    x = np.random.default_rng(0).standard_normal((20_000, 4))   # large enough for the parallel drivers
    normtest.epps_pulley(x)
    for data in (x, x.astype(np.float32)):   # the data are float32: the kernels' float32 builds too
        accumulate(EppsPulley(), [data])
        accumulate(SlicedEppsPulley(n_slices=8, rng=0), [data])
    return True


def arrow_pool_mb():
    """(peak, now) MB of pyarrow's default memory pool in this process (Parquet decode buffers)."""
    import pyarrow as pa

    pool = pa.default_memory_pool()
    return pool.max_memory() / 2**20, pool.bytes_allocated() / 2**20, pool.backend_name


def cluster_peaks(client):
    workers = client.run(peak_rss_mb)
    # the LocalCluster's scheduler lives in this (the client's) process
    return {"client+scheduler": peak_rss_mb(), **{f"worker{i}": v for i, v in enumerate(workers.values())}}


def _anchor_process(path):
    """:func:`in_memory_rates` in a fresh process (so the client's peak memory is the client's),
    with that process's own peak."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(1, mp_context=mp.get_context("spawn")) as pool:
        return pool.submit(in_memory_rates, path, True).result()


def in_memory_rates(path, with_peak=False):
    """Values per second on the first file's data, in memory in this process: ``normtest.epps_pulley``
    (the in-memory function, whose far-outlier search costs extra on the skewed column) and the
    streaming accumulator (the same kernel the workers run, without the cluster)."""
    import glob

    import pyarrow.parquet as pq
    from _timing import median_time

    import normtest
    from normtest.streaming import EppsPulley, accumulate

    frame = pq.read_table(sorted(glob.glob(os.path.join(path, "*.parquet")))[0]).to_pandas()
    X = frame.to_numpy(dtype=np.float64)
    warm_up()
    t_fun = median_time(lambda: normtest.epps_pulley(X), 3)
    t_acc = median_time(lambda: accumulate(EppsPulley(), [X]), 3)
    if with_peak:
        return X.size / t_fun, X.size / t_acc, peak_rss_mb()
    return X.size / t_fun, X.size / t_acc


def case_1d(client, path, n_rows):
    import dask.dataframe as dd

    import normtest.dask

    rate_fun, rate_acc, anchor_peak = _anchor_process(path)
    t0 = time.perf_counter()
    table = normtest.dask.check(dd.read_parquet(path), tests=["epps_pulley"])
    wall = time.perf_counter() - t0
    rate = 4 * n_rows / wall
    return {"rows": n_rows, "columns": 4, "wall_s": wall, "values_per_s": rate,
            "in_memory_function_values_per_s": rate_fun, "in_process_accumulator_values_per_s": rate_acc,
            "ratio_to_in_memory_function": rate / rate_fun, "ratio_to_in_process_accumulator": rate / rate_acc,
            "peak_rss_mb": cluster_peaks(client), "anchor_process_peak_rss_mb": anchor_peak,
            "statistics": table.statistic.tolist()}


def case_sliced(client, path, n_rows, n_slices):
    import glob

    import dask.dataframe as dd
    import pyarrow.parquet as pq

    import normtest.dask
    from normtest.streaming import SlicedEppsPulley

    ddf = dd.read_parquet(path)
    reads = []
    for _ in range(2):   # the faster of two reads (the first also pays the workers' first-use costs)
        t0 = time.perf_counter()
        ddf.map_partitions(lambda p: p.to_numpy(dtype=np.float32).sum(axis=0)).compute()
        reads.append(time.perf_counter() - t0)
    read_once = min(reads)
    from dask.distributed import get_task_stream

    with get_task_stream() as stream:   # where the workers' time went, per kind of task
        t0 = time.perf_counter()
        res = normtest.dask.sliced_epps_pulley(ddf, n_slices=n_slices, rng=0, lazy=False)
        wall = time.perf_counter() - t0
    tasks = task_profile(stream.data)
    # the chunked in-memory reference: the accumulator fed file by file in this process, with the
    # rule from the first rows and the row count from the Parquet metadata, as the engine does
    files = sorted(glob.glob(os.path.join(path, "*.parquet")))
    t0 = time.perf_counter()
    acc = SlicedEppsPulley(n_slices=n_slices, rng=0)
    head = pq.read_table(files[0]).to_pandas()
    acc.fix_rule(head.iloc[:acc.pilot_rows], n_rows=sum(pq.ParquetFile(f).metadata.num_rows for f in files))
    reads = 0
    for p in range(acc.passes):
        if p:
            acc.next_pass()
            if not acc.needs_data:
                break
        reads += 1
        for f in files:
            acc.update(pq.read_table(f).to_pandas())
    ref = acc.result()
    in_process = time.perf_counter() - t0
    floor = sliced_floor(files[0], acc, read_once / len(files) * 2)
    return {"rows": n_rows, "dim": 128, "n_slices": n_slices, "wall_s": wall, "read_once_s": read_once,
            "ratio_to_read": wall / read_once, "in_process_s": in_process, "ratio_to_in_process": wall / in_process,
            "in_process_reads": reads, "nodes": int(res.quadrature["n_nodes"]), "redo": bool(acc._plan["redo"]),
            "floor": floor, "tasks": tasks, "statistic": float(res.statistic),
            "reference": float(ref.statistic),
            "rel_diff": abs(float(res.statistic) - float(ref.statistic)) / abs(float(ref.statistic)),
            "peak_rss_mb": cluster_peaks(client), "worker_arrow_pool_mb": list(client.run(arrow_pool_mb).values())}


def task_profile(records):
    """Per kind of task (its key's prefix) and action: count, total and mean seconds."""
    out = {}
    for t in records:
        key = t["key"] if isinstance(t["key"], str) else t["key"][0]
        for s in t["startstops"]:
            name = f"{key.rsplit('-', 1)[0][:40]} {s['action']}"
            c, total = out.get(name, (0, 0.0))[:2]
            out[name] = (c + 1, total + s["stop"] - s["start"])
    return {k: {"count": c, "total_s": tot, "mean_ms": tot / c * 1e3}
            for k, (c, tot) in sorted(out.items(), key=lambda kv: -kv[1][1]) if tot >= 0.01}


def sliced_floor(file, acc, read_per_file_worker):
    """The least time the sliced case can take on 2 workers, per file: its read plus the
    projection (GEMM: float32 in place-fixed 256-row calls, as the workers do for float32
    files) and the ECF kernel at the run's rule, measured on one file in this process
    (single-threaded BLAS and kernel, like a worker). Returns the parts and the floor ratio."""
    import pyarrow.parquet as pq
    from _timing import median_time
    from threadpoolctl import threadpool_limits

    from normtest.ecf._kernels import ecf_sums_rows
    from normtest.ecf._stream import _placed_product

    X = pq.read_table(file).to_pandas().to_numpy(dtype=np.float32)
    B = acc._plan["B"]
    rule = acc._rule_of(acc._plan)
    Bt = np.ascontiguousarray(B.T.astype(np.float32))
    tiles = [X[lo:lo + 16384] for lo in range(0, X.shape[0], 16384)]
    with threadpool_limits(1):
        t_gemm = median_time(lambda: [_placed_product(Bt, t, 0, t.shape[0], 0) for t in tiles], 3)
        P = _placed_product(Bt, tiles[0], 0, tiles[0].shape[0], 0)
        t_ecf = median_time(lambda: ecf_sums_rows(P, rule.nodes, rule.lattice_step, serial=True), 3) * len(tiles)
    flops = 2.0 * X.shape[0] * X.shape[1] * B.shape[1]
    per_value_node = t_ecf / (len(tiles) * P.shape[1] * B.shape[1] * rule.nodes.size)
    ratio = 1.0 + (t_gemm + t_ecf) / read_per_file_worker
    return {"gemm_s_per_file": t_gemm, "gemm_gflops": flops / t_gemm / 1e9, "ecf_s_per_file": t_ecf,
            "ecf_ns_per_value_node": per_value_node * 1e9, "read_s_per_file_per_worker": read_per_file_worker,
            "nodes": int(rule.nodes.size), "floor_ratio": ratio}


def case_merging(path, n_slices, max_files=10):
    """Partitioning invariance on the first `max_files` files (a property of the merge, not of the size)."""
    import glob

    import dask.dataframe as dd

    import normtest.dask

    files = sorted(glob.glob(os.path.join(path, "*.parquet")))[:max_files]
    ddf = dd.read_parquet(files)
    vals = []
    # at most two files per partition: larger blocks (170 MB from 3-4 files) leave a 1 GiB worker too
    # little room for dask's own read + concat (pyarrow's pool peaked at 375 MB) and get it restarted
    for parts in (ddf.npartitions, 2 * ddf.npartitions + 1, max(1, ddf.npartitions // 2)):
        vals.append(float(normtest.dask.sliced_epps_pulley(ddf.repartition(npartitions=parts), n_slices=n_slices,
                                                           rng=0, lazy=False).statistic))
    again = float(normtest.dask.sliced_epps_pulley(ddf, n_slices=n_slices, rng=0, lazy=False).statistic)
    return {"rows": int(ddf.shape[0].compute()), "partitionings": [ddf.npartitions, 2 * ddf.npartitions + 1,
                                                                  max(1, ddf.npartitions // 2)],
            "statistics": vals, "bit_identical_rerun": again == vals[0],
            "max_rel_spread": float((max(vals) - min(vals)) / abs(vals[0]))}


def case_spark(n_rows):
    import pandas as pd
    from pyspark.sql import SparkSession

    import normtest
    import normtest.spark

    spark = (SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false")
             .config("spark.driver.memory", "2g").getOrCreate())
    sdf = (spark.range(n_rows, numPartitions=8)
           .selectExpr("randn(1) as a", "randn(2) * 3 + 1 as b", "rand(3) as c", "exp(randn(4)) as d"))
    t0 = time.perf_counter()
    table = normtest.spark.check(sdf)
    wall = time.perf_counter() - t0
    local = pd.DataFrame(sdf.toPandas())
    ref = normtest.check(local, tests=["epps_pulley"])
    rel = np.abs(table.statistic.to_numpy() - ref.statistic.to_numpy()) / np.abs(ref.statistic.to_numpy())
    spark.stop()
    return {"rows": n_rows, "columns": 4, "wall_s": wall, "max_rel_diff": float(rel.max()),
            "driver_peak_rss_mb": peak_rss_mb()}


def issue_table(out):
    """The benchmark table of the issue, as Markdown, from the JSON summary."""
    rows = []
    if "ep_1d" in out:
        c = out["ep_1d"]
        peaks = ", ".join(f"{k} {v:.0f}" for k, v in c["peak_rss_mb"].items())
        case = f"1-D EP, 4 columns, {c['rows']:.3g} rows float32 Parquet, dask LocalCluster 2 workers"
        goal = "peak memory of every process <= 1 GB; throughput >= 50% of the in-memory kernel"
        got = (f"peak MB: {peaks}; {c['values_per_s']:.3g} values/s = {c['ratio_to_in_memory_function']:.2f}x "
               f"in-memory `epps_pulley` ({c['ratio_to_in_process_accumulator']:.2f}x the in-process "
               f"accumulator); wall {c['wall_s']:.1f} s")
        rows.append((case, goal, got))
    if "sliced" in out:
        c = out["sliced"]
        case = f"sliced EP ({c['rows']:.3g}, {c['dim']}) float32 Parquet, {c['n_slices']} slices"
        goal = "within 2x the time of reading the files once; same statistic as a chunked in-memory run to 1e-9"
        f = c["floor"]
        got = (f"{c['wall_s']:.1f} s vs {c['read_once_s']:.1f} s read once ({c['ratio_to_read']:.1f}x); "
               f"{c['ratio_to_in_process']:.2f}x the in-process accumulator; rel. diff {c['rel_diff']:.1e}; "
               f"{c['nodes']} nodes; floor {f['floor_ratio']:.1f}x (per file and worker: read "
               f"{f['read_s_per_file_per_worker'] * 1e3:.0f} ms + float32 GEMM {f['gemm_s_per_file'] * 1e3:.0f} ms at "
               f"{f['gemm_gflops']:.0f} GFLOP/s + ECF {f['ecf_s_per_file'] * 1e3:.0f} ms at "
               f"{f['ecf_ns_per_value_node']:.3f} ns/value/node); worker tasks: "
               + ", ".join(f"{k} {v['count']} x {v['mean_ms']:.0f} ms" for k, v in list(c["tasks"].items())[:3])
               + "; peak MB: " + ", ".join(f"{k} {v:.0f}" for k, v in c["peak_rss_mb"].items()))
        rows.append((case, goal, got))
    if "spark" in out:
        c = out["spark"]
        rows.append((f"Spark local[2], {c['rows']:.3g} rows x {c['columns']} columns",
                     "same numbers as in-memory to 1e-9",
                     f"max rel. diff {c['max_rel_diff']:.1e}; wall {c['wall_s']:.1f} s"))
    if "merging" in out:
        c = out["merging"]
        got = (f"{c['rows']:.3g} rows, partitions {c['partitionings']}: bit-identical rerun "
               f"{c['bit_identical_rerun']}; spread {c['max_rel_spread']:.1e}")
        rows.append(("merging: result independent of partitioning and worker count",
                     "bit-identical for a fixed partitioning; <= 1e-12 relative across partitionings", got))
    lines = [f"scale {out['scale']}, {out['cpus']} CPUs, load average at start {out['load_avg'][0]:.1f}",
             "", "| case | goal | measured |", "|---|---|---|"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=1.0, help="multiply every row count (default 1: full size)")
    ap.add_argument("--dir", default="/tmp/normtest-cluster-bench", help="where the Parquet data live")
    ap.add_argument("--out", default=None, help="write the JSON summary here")
    ap.add_argument("--cases", default="1d,sliced,merging,spark")
    ap.add_argument("--slices", type=int, default=256)
    ap.add_argument("--write-only", action="store_true", help="write (or complete) the data sets and stop")
    args = ap.parse_args(argv)
    cases = args.cases.split(",")
    n1, n2, n3 = int(2e8 * args.scale), int(2e7 * args.scale), int(1e7 * args.scale)
    out = {"scale": args.scale, "cpus": os.cpu_count(), "load_avg": os.getloadavg()}
    p1 = os.path.join(args.dir, f"ep1d-{n1}")
    p2 = os.path.join(args.dir, f"sliced-{n2}")
    if "1d" in cases:
        write_parquet(p1, n1, 4, rows_per_file=max(1, min(n1, 2_500_000)), seed=1)
    if "sliced" in cases or "merging" in cases:
        write_parquet(p2, n2, 128, rows_per_file=max(1, min(n2, 100_000)), seed=2)
    if args.write_only:
        return
    if "1d" in cases or "sliced" in cases or "merging" in cases:
        from dask.distributed import Client, LocalCluster

        # one core per worker process: dask's nanny pins OpenMP and BLAS to one thread, and numba's
        # kernels are pinned too (else each worker's parallel kernels spin on both cores)
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, memory_limit="1GiB",
                          dashboard_address=":0", env={"NUMBA_NUM_THREADS": "1"}) as cluster, \
                Client(cluster) as client:
            t0 = time.perf_counter()
            client.run(warm_up)   # numba kernels: loaded from the on-disk cache when it is there
            out["worker_warm_up_s"] = time.perf_counter() - t0
            warm_up()
            if "1d" in cases:
                out["ep_1d"] = case_1d(client, p1, n1)
            if "sliced" in cases:
                out["sliced"] = case_sliced(client, p2, n2, args.slices)
            if "merging" in cases:
                out["merging"] = case_merging(p2, min(args.slices, 64))
            out["client_peak_rss_mb"] = peak_rss_mb()
    if "spark" in cases:
        out["spark"] = case_spark(n3)
    text = json.dumps(out, indent=2, default=float)
    print(text)
    print(issue_table(out))
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(text + "\n")


if __name__ == "__main__":
    main()
