"""The real-tables study's report, from made-up fit records (no data sets needed)."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

_PATH = Path(__file__).parents[1] / "benchmarks" / "bench_real_tables.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_real_tables", _PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _records(cv_minus_mlp):
    """Two rows on two tables; ``cv_minus_mlp[table](seed)`` sets the gap."""
    for table, gap in cv_minus_mlp.items():
        for seed in range(20):
            yield {"table": table, "row": "mlp", "seed": seed, "score": 0.5, "cpu": 1.0}
            yield {
                "table": table,
                "row": "cv",
                "seed": seed,
                "score": 0.5 + gap(seed),
                "cpu": 2.0,
            }


def test_blocks_report_each_ten_seeds_and_the_pool(bench, tmp_path):
    path = tmp_path / "real_tables.jsonl"
    gaps = {
        "wine": lambda seed: -0.01 if seed < 10 else 0.02,  # loses the first block
        "OJ": lambda seed: 0.01,
    }
    path.write_text("".join(json.dumps(r) + "\n" for r in _records(gaps)))
    title, header, body = bench.report(path)["blocks"]
    assert header == ["table", "seeds 0–9", "seeds 10–19", "all splits"]
    assert body[0] == ["wine", "-0.010 (10)", "+0.020 (10)", "+0.005 (20)"]
    assert body[1] == ["OJ", "+0.010 (10)", "+0.010 (10)", "+0.010 (20)"]
    assert body[-1] == ["tables where cv ≥ mlp", "1/2", "2/2", "2/2"]
    # The paired table pools all twenty splits.
    _, _, paired = bench.report(path)["paired"]
    assert paired[0][1] == "+0.005 (10/20)"


def test_one_block_has_no_blocks_table_and_no_records_is_an_error(bench, tmp_path):
    path = tmp_path / "real_tables.jsonl"
    records = [r for r in _records({"wine": lambda seed: 0.0}) if r["seed"] < 10]
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    assert "blocks" not in bench.report(path)
    with pytest.raises(SystemExit, match="no fits recorded"):
        bench.report(tmp_path / "missing.jsonl")


def test_script_runs_fits_in_worker_processes(tmp_path):
    # Run as a script (the module is __main__) with two joblib workers: every
    # function the workers receive must unpickle there.
    script = [sys.executable, str(_PATH), "--tables", "wine", "--rows", "mlp"]
    args = ["--n-seeds", "2", "--n-jobs", "2", "--output-dir", str(tmp_path)]
    done = subprocess.run(script + args, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = (tmp_path / "real_tables.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    assert sorted(r["seed"] for r in records) == [0, 1]
    assert all(r["table"] == "wine" and 0.8 < r["score"] <= 1 for r in records)


@pytest.mark.skipif(
    not hasattr(stats.ttest_1samp([0.0, 1.0], 0.0), "confidence_interval"),
    reason="scipy < 1.10 has no confidence_interval to compare with",
)
def test_corrected_ttest_is_the_plain_t_test_widened_by_the_split_overlap(bench):
    rng = np.random.default_rng(0)
    diffs = 0.004 + 0.01 * rng.standard_normal(40)
    plain = stats.ttest_1samp(diffs, 0.0)
    mean, half, p = bench._corrected_ttest(diffs, 0.0)
    assert mean == pytest.approx(diffs.mean())
    assert p == pytest.approx(plain.pvalue)
    low, high = plain.confidence_interval(0.95)
    assert (mean - half, mean + half) == pytest.approx((low, high))
    # A quarter of each table held out: the variance of the mean grows from
    # var / 40 to (1 / 40 + 1 / 3) * var, the interval by sqrt(1 + 40 / 3).
    _, wide, p_wide = bench._corrected_ttest(diffs, 1 / 3)
    assert wide == pytest.approx(half * np.sqrt(1 + 40 / 3))
    assert p < 0.05 < p_wide
    # More splits narrow the plain interval without bound, the corrected one not.
    many = np.tile(diffs, 25)
    assert bench._corrected_ttest(many, 0.0)[1] < half / 4
    assert bench._corrected_ttest(many, 1 / 3)[1] > wide * 0.8


def test_corrected_ttest_when_every_split_gives_the_same_difference(bench):
    assert bench._corrected_ttest([0.01] * 5, 1 / 3) == (pytest.approx(0.01), 0, 0)
    assert bench._corrected_ttest([0.0] * 5, 1 / 3) == (0, 0, 1)


def test_report_has_the_corrected_test_per_table(bench, tmp_path):
    path = tmp_path / "real_tables.jsonl"
    gaps = {"wine": lambda seed: 0.01 * (seed % 2), "OJ": lambda seed: 0.02}
    path.write_text("".join(json.dumps(r) + "\n" for r in _records(gaps)))
    title, header, body = bench.report(path)["corrected"]
    assert header == ["table", "cv − mlp"]
    assert "Nadeau and Bengio" in title
    mean, half, p = bench._corrected_ttest([0.01 * (s % 2) for s in range(20)], 1 / 3)
    assert body[0] == ["wine", f"+0.005 ± {half:.3f} (p={p:.2f})"]
    assert body[1] == ["OJ", "+0.020 ± 0.000 (p<0.01)"]
