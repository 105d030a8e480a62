"""bench lock: a worker's decode timed beside each kind of main-thread work (the interpreter lock)."""


def test_the_lock_bench_times_the_decode_beside_each_kind_of_main_thread_work(qapp, tiny_checkpoint, capsys):
    from latentlab.bench import lock

    assert lock.main(["--checkpoint", str(tiny_checkpoint), "--seconds", "1"]) == 0
    out = capsys.readouterr().out
    rows = {line.split()[1]: line for line in out.splitlines()[1:]}
    assert set(rows) == set(lock.CASES) and all(line.split()[0] == "eager" for line in rows.values())
    assert "slowdown x1.00" in rows["idle"]
    for case in lock.CASES:
        forwards = int(rows[case].split("forwards")[0].split()[-1])
        assert forwards >= 1, rows[case]


def test_the_lock_bench_names_a_checkpoint_it_cannot_read(tmp_path, capsys):
    from latentlab.bench import lock

    bad = tmp_path / "broken.ckpt"
    bad.write_bytes(b"not a checkpoint")
    assert lock.main(["--checkpoint", str(bad), "--seconds", "1"]) == 2
    assert "broken.ckpt" in capsys.readouterr().err


def test_the_lock_bench_can_time_a_traced_forward_beside_the_eager_one(qapp, tiny_checkpoint, capsys):
    from latentlab.bench import lock

    assert lock.main(["--checkpoint", str(tiny_checkpoint), "--seconds", "1", "--traced"]) == 0
    rows = [line.split()[:2] for line in capsys.readouterr().out.splitlines()[1:]]
    assert rows == [[kind, case] for kind in ("eager", "traced") for case in lock.CASES]
