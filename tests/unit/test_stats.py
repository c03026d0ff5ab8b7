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
