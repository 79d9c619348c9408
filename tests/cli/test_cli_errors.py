"""User errors of `solve`, `train`, `tasks` and the CLI shell: each one is refused with one line
naming the problem (exit status 2) before any work is done, never a traceback; plus the
closed-pipe exit, Ctrl-C during `solve`, and `solve --moves` reproducibility."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from crosscountry_gym import tasks
from crosscountry_gym.cli import main
from crosscountry_gym.engine import cost

CLI = [sys.executable, "-m", "crosscountry_gym"]


def _one_line_error(capsys, argv, message, code=2):
    assert main(argv) == code
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith(f"crosscountry-gym {argv[0]}: error: ") and message in err, err
    return err


# -- solve --out ----------------------------------------------------------------------------


def test_solve_out_directory_is_refused(capsys, tmp_path):
    _one_line_error(capsys, ["solve", "PropaneCombustion", "--method", "markowitz",
                             "--no-progress", "--out", str(tmp_path)],
                    f"--out {tmp_path}: is a directory; give a file name")
    assert list(tmp_path.iterdir()) == []
    missing_dir = tmp_path / "new"
    _one_line_error(capsys, ["solve", "PropaneCombustion", "--no-progress", "--out",
                             f"{missing_dir}/"], "is a directory")
    assert not missing_dir.exists()


def test_solve_out_in_a_missing_folder_is_refused_not_created(capsys, tmp_path):
    target = tmp_path / "no" / "such" / "x.json"
    _one_line_error(capsys, ["solve", "PropaneCombustion", "--no-progress", "--out", str(target)],
                    f"folder {target.parent} does not exist (create it first")
    assert not (tmp_path / "no").exists()
    (tmp_path / "afile").write_text("")
    _one_line_error(capsys, ["solve", "PropaneCombustion", "--no-progress", "--out",
                             str(tmp_path / "afile" / "x.json")], "is not a folder")


def test_solve_out_writes_the_file_and_nothing_else(capsys, tmp_path):
    out = tmp_path / "o.json"
    assert main(["solve", "PropaneCombustion", "--method", "markowitz", "--no-progress",
                 "--out", str(out)]) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    assert [p.name for p in tmp_path.iterdir()] == ["o.json"]  # no temporary file left


# -- numbers --------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["inf", "nan", "-1", "0"])
def test_solve_seconds_must_be_finite_and_positive(capsys, value):
    _one_line_error(capsys, ["solve", "MLP", "--no-progress", "--seconds", value],
                    "--seconds must be > 0 and finite")


@pytest.mark.parametrize("value", ["inf", "nan", "-1", "0", "-inf", "1e999"])
def test_train_budget_must_be_finite_and_positive(capsys, value):
    with pytest.raises(SystemExit) as exc:
        main(["train", "ppo", "--task", "PropaneCombustion", f"--budget={value}"])
    err = capsys.readouterr().err
    assert exc.value.code == 2
    assert f"argument --budget: must be > 0 and finite, got {value}" in err


@pytest.mark.parametrize("argv, message", [
    (["--checkpoint-every", "inf"], "argument --checkpoint-every: must be > 0 and finite"),
    (["--seed", "-1"], "argument --seed: must be an integer in [0, 2^31), got -1"),
    (["--num-envs", "0"], "argument --num-envs: must be >= 1"),
])
def test_other_train_numbers_are_checked(capsys, argv, message):
    with pytest.raises(SystemExit) as exc:
        main(["train", "ppo", "--task", "PropaneCombustion", "--budget", "1", *argv])
    assert exc.value.code == 2 and message in capsys.readouterr().err


def test_solve_moves_must_be_positive(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["solve", "MLP", "--moves", "0"])
    assert exc.value.code == 2 and "argument --moves: must be >= 1" in capsys.readouterr().err


def test_train_out_that_is_a_file_is_refused(capsys, tmp_path):
    f = tmp_path / "afile"
    f.write_text("keep")
    _one_line_error(capsys, ["train", "ppo", "--task", "PropaneCombustion", "--budget", "1",
                             "--out", str(f)], "exists and is not a directory")
    assert f.read_text() == "keep"


# -- text that is not UTF-8 -----------------------------------------------------------------


@pytest.mark.parametrize("argv, name", [
    (["solve", "Prop\udcffane"], "argument task"),
    (["solve", "PropaneCombustion", "--out", "o\udcff.json"], "argument --out"),
    (["train", "ppo", "--task", "PropaneCombustion", "--budget", "1", "--set", "x=\udce9"],
     "argument --set"),
    (["train", "ppo", "--task", "Propane\udcff", "--budget", "1"], "argument --task"),
])
def test_lone_surrogates_are_named(capsys, tmp_path, argv, name):
    os.chdir(tmp_path)
    err = _one_line_error(capsys, argv, f"{name}: ")
    assert "is not valid UTF-8 (lone surrogate U+DC" in err
    assert list(tmp_path.iterdir()) == []


def test_non_utf8_bytes_from_the_shell_are_named(tmp_path):
    proc = subprocess.run([*CLI, "solve", "PropaneCombustion", "--no-progress", "--out",
                           os.fsencode(str(tmp_path)) + b"/\xff.json"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.count("\n") == 1 and "argument --out:" in proc.stderr
    assert "lone surrogate U+DCFF" in proc.stderr and list(tmp_path.iterdir()) == []


# -- pipes and Ctrl-C -----------------------------------------------------------------------


def test_tasks_into_a_closed_pipe_exits_quietly():
    """`crosscountry-gym tasks | head`: the reader is gone before the output is written."""
    r, w = os.pipe()
    os.close(r)
    try:
        proc = subprocess.run([*CLI, "tasks", "--no-fidelity", "--json"], stdout=w,
                              stderr=subprocess.PIPE, text=True, timeout=300)
    finally:
        os.close(w)
    assert proc.stderr == "" and proc.returncode == 141  # as if killed by SIGPIPE


def test_tasks_into_head_exits_quietly():
    proc = subprocess.run(f"{sys.executable} -m crosscountry_gym tasks --no-fidelity --json "
                          "| head -c 1; exit ${PIPESTATUS[0]}", shell=True, executable="bash",
                          capture_output=True, text=True, timeout=300)
    assert proc.stdout == "[" and proc.stderr == "" and proc.returncode in (0, 141)


def test_keyboard_interrupt_is_one_line(capsys, monkeypatch):
    from crosscountry_gym.cli import tasks_cmd

    def stop(**_):
        raise KeyboardInterrupt

    monkeypatch.setattr(tasks_cmd, "task_rows", stop)
    assert main(["tasks"]) == 130
    assert capsys.readouterr().err == "crosscountry-gym tasks: interrupted\n"


def test_ctrl_c_during_solve_prints_and_writes_the_best_order(tmp_path):
    out = tmp_path / "o.json"
    proc = subprocess.Popen([*CLI, "solve", "RoeFlux_3d", "--method", "sa", "--seconds",
                             "300", "--out", str(out)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    fd = proc.stderr.fileno()
    os.set_blocking(fd, False)
    seen, end = b"", time.monotonic() + 120
    while b"best" not in seen:  # the progress bar shows the search has started
        assert proc.poll() is None and time.monotonic() < end, seen
        try:
            seen += os.read(fd, 65536)
        except BlockingIOError:
            time.sleep(0.1)
    os.set_blocking(fd, True)
    t0 = time.monotonic()
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert time.monotonic() - t0 < 30  # not the 300 s budget
    stdout, stderr = stdout.decode(), (seen + stderr).decode()
    assert proc.returncode == 130 and "Traceback" not in stderr, stderr
    assert stderr.strip().splitlines()[-1] == (
        "crosscountry-gym solve: interrupted by SIGINT: the result above is the best order "
        f"found so far (written to {out})")
    assert stdout.startswith("RoeFlux_3d [exact] sa: cost ")  # no proven optimum: it runs
    rec = json.loads(out.read_text())
    g = tasks.load("RoeFlux_3d").graph
    assert rec["interrupted"] == "SIGINT" and rec["cost"] == cost(g, rec["order"])


# -- solve --moves --------------------------------------------------------------------------


def test_solve_moves_reproduces_the_same_order(capsys):
    argv = ["solve", "RobotArm_6DOF", "--method", "sa", "--moves", "4000", "--seed", "3",
            "--json", "--no-progress"]
    recs = []
    for _ in range(2):
        assert main(argv) == 0
        recs.append(json.loads(capsys.readouterr().out))
    assert recs[0]["order"] == recs[1]["order"] and recs[0]["cost"] == recs[1]["cost"]
    assert recs[0]["moves"] == 4000 and recs[0]["seconds"] is None
    assert recs[0]["compute_budget"] == "4000 moves"
    assert "--moves 4000" in recs[0]["command"] and "--seconds" not in recs[0]["command"]
    assert main(["solve", "RobotArm_6DOF", "--moves", "100", "--seconds", "5", "--json",
                 "--no-progress"]) == 0  # both limits: whichever comes first
    rec = json.loads(capsys.readouterr().out)
    assert rec["compute_budget"] == "100 moves, 5 s" and "--seconds 5 --moves 100" in rec["command"]


def test_solve_help_documents_reproducibility():
    proc = subprocess.run([*CLI, "solve", "--help"], capture_output=True, text=True, timeout=120)
    text = " ".join(proc.stdout.split())
    assert "a time-bounded search is not reproducible" in text
    assert "with --moves alone, the same --seed reproduces the same order" in text
