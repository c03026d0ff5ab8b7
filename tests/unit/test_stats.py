import math

import numpy as np

from harness import stats


def test_percentile_matches_hand_computed_linear_interpolation():
    values = [4.0, 1.0, 3.0, 2.0]  # sorted: 1 2 3 4
    assert stats.median(values) == 2.5
    assert stats.percentile(values, 0) == 1.0
    assert stats.percentile(values, 100) == 4.0
    # rank = 3 * 0.95 = 2.85 -> 3 + 0.85 * (4 - 3)
    assert abs(stats.percentile(values, 95) - 3.85) < 1e-12
    assert stats.median([]) is None


def step(epoch, seconds=0.1, batch_size=32):
    return {"epoch": epoch, "seconds": seconds, "batch_size": batch_size}


def test_first_epoch_is_warm_up_when_there_are_several():
    steps = [step(0, 1.0), step(0, 1.0), step(1, 0.1), step(1, 0.1, 16)]
    steady = stats.steady_steps(steps)
    assert steady == steps[2:]
    assert abs(stats.throughput(steady) - 48 / 0.2) < 1e-9


def test_single_epoch_drops_the_first_steps():
    steps = [step(0, 1.0)] * stats.WARMUP_STEPS + [step(0, 0.5)] * 3
    assert stats.steady_steps(steps) == [step(0, 0.5)] * 3


def test_throughput_of_nothing_is_none_not_zero():
    assert stats.throughput([]) is None


def test_modified_z_score_matches_hand_values():
    values = [1.0, 2.0, 3.0, 4.0, 100.0]  # median 3; |x - 3| = 2 1 0 1 97 -> MAD 1
    z = stats.modified_z(values)
    assert list(z) == [0.6745 * -2, 0.6745 * -1, 0.0, 0.6745, 0.6745 * 97]
    assert list(stats.outliers(values)) == [False, False, False, False, True]


def test_modified_z_falls_back_to_mean_deviation_when_mad_is_zero():
    values = [1.0, 1.0, 1.0, 5.0]  # median 1, MAD 0, mean |x - 1| = 1
    z = stats.modified_z(values)
    assert abs(z[3] - 4 / 1.253314) < 1e-12 and z[0] == 0
    assert list(stats.outliers(values)) == [False, False, False, False]  # 3.19 < 3.5
    assert not stats.outliers([2.0, 2.0, 2.0]).any()


def test_bootstrap_of_constant_steps_is_the_exact_throughput():
    draws = stats.throughput_draws([0.5] * 10, [32] * 10, resamples=50)
    assert stats.interval(draws) == (64.0, 64.0)
    assert stats.throughput_draws([], []) is None and stats.interval(None) == (None, None)


def test_bootstrap_interval_is_seeded_and_brackets_the_point_estimate():
    import numpy as np
    rng = np.random.default_rng(1)
    seconds = rng.gamma(20, 0.005, size=5000)  # mean 0.1 s
    samples = np.full(5000, 32.0)
    low, high = stats.interval(stats.throughput_draws(seconds, samples))
    point = samples.sum() / seconds.sum()
    assert low < point < high and high - low < 0.05 * point
    assert (low, high) == stats.interval(stats.throughput_draws(seconds, samples))  # same seed, same answer


def test_block_bootstrap_resamples_whole_blocks():
    # two blocks: 10 steps of 1 s then 10 of 3 s (32 samples each): every draw is one of
    # 640/20 (both slow), 640/40, 640/60 -> 32, 16, 10.67; never anything in between
    draws = stats.throughput_draws([1.0] * 10 + [3.0] * 10, [32] * 20, max_blocks=2)
    assert set(np.round(draws, 6)) <= {32.0, 16.0, round(640 / 60, 6)}


def test_interval_percentiles_by_hand():
    low, high = stats.interval(list(range(101)), confidence=0.9)
    assert abs(low - 5.0) < 1e-9 and abs(high - 95.0) < 1e-9


def test_t_quantiles_match_the_tables():
    # Student-t 0.975 quantiles from the printed tables; df 2 is exact, df 1 is tan(pi/2 * 0.95)
    for df, value in ((2, 4.303), (3, 3.182), (4, 2.776), (9, 2.262), (30, 2.042)):
        assert abs(stats.t_quantile(0.975, df) - value) < 0.005
    assert abs(stats.normal_quantile(0.975) - 1.959964) < 1e-6 and abs(stats.t_quantile(0.975, math.inf) - 1.959964) < 1e-6


def test_two_level_draws_resample_processes():
    # two processes, each perfectly steady but 2x apart: a block bootstrap of the pooled steps would
    # give one value; the process level gives three (both slow, mixed, both fast)
    slow, fast = (np.full(50, 0.2), np.full(50, 32.0)), (np.full(50, 0.1), np.full(50, 32.0))
    draws = stats.two_level_draws([slow, fast], resamples=400, seed=1)
    assert set(np.round(draws, 6)) == {160.0, round(3200 / 15, 6), 320.0}
    assert np.array_equal(draws, stats.two_level_draws([slow, fast], resamples=400, seed=1))


def test_log_interval_widens_a_few_processes_and_significance_needs_the_noise_band():
    part = stats.Spread(0.01 ** 2, 5)
    low, high = stats.log_interval(2.0, [part])
    # sd 0.01 widened by sqrt(5/4), times t(4) = 2.776
    assert abs(math.log(high / 2.0) - 2.776 * 0.01 * math.sqrt(5 / 4)) < 1e-3 and abs(low * high - 4.0) < 1e-9
    assert stats.log_interval(2.0, [part, None]) == (None, None)
    assert stats.significant(1.04, 1.2, noise=0.03) is True and stats.significant(1.02, 1.2, noise=0.03) is False
    assert stats.significant(0.8, 0.96, noise=0.03) is True and stats.significant(0.8, 0.98, noise=0.03) is False
    assert stats.significant(None, None) is None


def test_repeats_needed_for_an_interval_within_the_noise():
    # n = 3: t(2) * 0.01 / sqrt(3) = 0.0248 <= 0.03; cv 5%: the first n with t(n-1) 0.05 / sqrt(n) <= 0.03 is 14
    assert stats.repeats_needed(0.01) == 3 and stats.repeats_needed(None) == 14 and stats.repeats_needed(0.05) == 14
