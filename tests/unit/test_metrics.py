from harness.metrics import job_metrics


def test_metrics_from_events_and_telemetry():
    events = [{"event": "start", "t": 10.0, "startup_seconds": 2.0}]
    for epoch, seconds in enumerate((0.5, 0.1)):
        events += [{"event": "step", "t": 11.0 + epoch + i, "epoch": epoch, "step": i, "seconds": seconds / 2,
                    "batch_size": 10} for i in range(2)]
    events += [{"event": "epoch", "epoch": 0, "seconds": 1.0}, {"event": "epoch", "epoch": 1, "seconds": 0.2},
               {"event": "end", "status": "ok", "metrics": {"final_accuracy": 0.9, "final_val_accuracy": 0.8}}]
    telemetry = [{"rss_mb": 100.0}, {"rss_mb": 250.5}, {"cpu_percent": 50.0}]
    metrics = job_metrics(events, telemetry)
    assert metrics["samples_per_sec"] == 20 / 0.1  # epoch 1 only
    assert metrics["epoch_seconds"] == [1.0, 0.2]
    assert metrics["first_epoch_seconds"] == 1.0 and metrics["steady_epoch_seconds"] == 0.2
    assert metrics["train_seconds"] == 1.2
    assert metrics["time_to_first_step_seconds"] == 1.0
    assert metrics["final_accuracy"] == 0.9 and metrics["final_val_accuracy"] == 0.8
    assert metrics["peak_rss_mb"] == 250.5


def test_missing_measurements_are_none_not_zero():
    metrics = job_metrics([{"event": "end", "status": "failed", "metrics": {}}], [])
    for name in ("samples_per_sec", "first_epoch_seconds", "steady_epoch_seconds", "final_val_accuracy", "peak_rss_mb"):
        assert metrics[name] is None
