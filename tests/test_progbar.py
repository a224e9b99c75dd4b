"""Keras 3's progress bar format: exact strings with a fake clock."""
import io

import pytest

from ranvier import _progbar
from ranvier._progbar import Progbar, format_eta, format_time_per_step
from ranvier.callbacks import CallbackList, ProgbarLogger

BAR = "\u2501"
B, R, G, W = "\x1b[1m", "\x1b[0m", "\x1b[32m", "\x1b[37m"


class Clock:
    def __init__(self, t=1000.0):
        self.t = t

    def __call__(self):
        return self.t


def _bar(done, width=20):
    return (f"{G}{BAR * done}{R}" if done else "") + f"{W}{BAR * (width - done)}{R}"


def test_time_formats():
    assert format_time_per_step(0.0) == " 0s/step"
    assert format_time_per_step(2.4) == " 2s/step"
    assert format_time_per_step(0.0123) == " 12ms/step"
    assert format_time_per_step(0.00045) == " 450us/step"
    assert format_time_per_step(0.001) == " 1ms/step"
    assert format_eta(7.9) == "7s"
    assert format_eta(62) == "1:02"
    assert format_eta(3661) == "1:01:01"


def test_verbose1_live_lines_exact():
    out, clock = io.StringIO(), Clock()
    pb = Progbar(5, verbose=1, stream=out, clock=clock, live=True, colors=True)
    clock.t += 0.010
    pb.update(1, [("loss", 0.5)])
    first = out.getvalue()
    assert first == f"\r{B}1/5{R} {_bar(4)} {B}0s{R} 10ms/step - loss: 0.5000"
    clock.t += 0.020  # throttled: under 0.05 s since the last draw
    pb.update(2, [("loss", 0.3)])
    assert out.getvalue() == first
    clock.t += 2.0  # steps after the first take (2.02)/1 s: ETA = 2.02 * 2
    pb.update(3, [("loss", 0.2)])
    # values are averaged over steps: (0.5 + 0.3 + 0.2) / 3
    third = out.getvalue()[len(first):]
    # two characters shorter than the first line: padded with two spaces
    assert third == f"\r{B}3/5{R} {_bar(12)} {B}2s{R} 1s/step - loss: 0.3333  "
    clock.t += 1.0
    pb.update(5, [("loss", 0.25), ("val_loss", 0.0001)], finalize=True)
    last = out.getvalue()[len(first) + len(third):]
    # final: total elapsed seconds, time per step over steps 2..5, the given values as-is
    assert last == (f"\r{B}5/5{R} {_bar(20)} {B}3s{R} 755ms/step - loss: 0.2500 "
                    f"- val_loss: 1.0000e-04\n")


def test_verbose1_pads_a_shorter_redraw_with_spaces():
    out, clock = io.StringIO(), Clock()
    pb = Progbar(10, stream=out, clock=clock, live=True, colors=False)
    clock.t += 1
    pb.update(1, [("loss", 123.456)])
    clock.t += 1
    pb.update(2, [("loss", 1.0)])  # a shorter number replaces a longer one
    lines = out.getvalue().split("\r")[1:]
    assert len(lines[1]) == len(lines[0]) and lines[1].endswith(" ")
    # without colours the done cells are drawn and the rest left blank
    assert lines[0] == f" 1/10 {BAR * 2}{' ' * 18} 9s 1s/step - loss: 123.4560"
    assert lines[1].rstrip(" ") == f" 2/10 {BAR * 4}{' ' * 16} 8s 1s/step - loss: 62.2280"


def test_not_live_writes_only_the_final_line_without_ansi():
    out, clock = io.StringIO(), Clock()
    pb = Progbar(3, stream=out, clock=clock)  # StringIO is not a terminal
    for step in (1, 2):
        clock.t += 1
        pb.update(step, [("accuracy", 0.5), ("loss", 0.6758)])
    assert out.getvalue() == ""
    clock.t += 1
    pb.update(3, [("accuracy", 0.475), ("loss", 0.6758)])
    assert out.getvalue() == f"3/3 {BAR * 20} 3s 1s/step - accuracy: 0.4750 - loss: 0.6758\n"
    assert "\r" not in out.getvalue() and "\x1b" not in out.getvalue()


def test_step_count_right_aligned_to_target_width():
    out, clock = io.StringIO(), Clock()
    pb = Progbar(120, stream=out, clock=clock, live=True, colors=False)
    clock.t += 0.5
    pb.update(7)
    assert out.getvalue().startswith(f"\r  7/120 {BAR * 1}{' ' * 19} ")


def test_skipped_batches_are_weighted_by_steps():
    out, clock = io.StringIO(), Clock()
    pb = Progbar(100, stream=out, clock=clock, live=True, colors=False)
    clock.t += 1
    pb.update(10, [("loss", 1.0)])   # 10 steps at 1.0
    clock.t += 1
    pb.update(40, [("loss", 0.5)])   # 30 more at 0.5 -> (10 + 15) / 40
    assert out.getvalue().rstrip(" ").endswith("- loss: 0.6250")
    assert " 60/100 " not in out.getvalue()
    # never saw step 1: time per step = elapsed / steps
    assert "\r 40/100 " + BAR * 8 + " " * 12 + " 3s 50ms/step" in out.getvalue()


def test_verbose2_one_line_at_the_end_with_the_no_abs_quirk():
    out, clock = io.StringIO(), Clock()
    pb = Progbar(5, verbose=2, stream=out, clock=clock, live=True)
    clock.t += 0.002
    pb.update(1, [("loss", 1.0)])
    clock.t += 0.004
    pb.update(3, [("loss", 1.0)])
    assert out.getvalue() == ""
    clock.t += 0.004
    pb.update(5, [("accuracy", 0.475), ("loss", 0.6744), ("r", -2.5)], finalize=True)
    # time per step after step 1: 0.008 / 4; negative values print in e-notation (avg > 1e-3);
    # keys keep the order they first appeared in (loss before the new accuracy)
    assert out.getvalue() == "5/5 - 0s - 2ms/step - loss: 0.6744 - accuracy: 0.4750 - r: -2.5000e+00\n"


def test_unknown_target():
    out, clock = io.StringIO(), Clock()
    pb = Progbar(None, stream=out, clock=clock, live=True, colors=False)
    clock.t += 1
    pb.update(3, [("loss", 2.0)])
    assert out.getvalue() == "\r      3/Unknown 1s 333ms/step - loss: 2.0000"


# ----------------------------------------------------------------------------- ProgbarLogger

@pytest.fixture
def fake_clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(_progbar, "_default_clock", clock)
    return clock


def _fit(cbl, clock, epochs, steps, every=1):
    cbl.on_train_begin()
    for epoch in range(epochs):
        cbl.on_epoch_begin(epoch)
        for batch in range(steps):
            clock.t += 0.1
            if batch % every == every - 1:
                cbl.on_train_batch_end(batch, {"loss": 1.0 / (batch + 1), "accuracy": 0.5})
        # validation inside fit is silent
        cbl.on_test_begin()
        cbl.on_test_batch_end(0, {"loss": 9.0})
        cbl.on_test_end({"loss": 9.0})
        cbl.on_epoch_end(epoch, {"accuracy": 0.5, "loss": 0.25, "val_accuracy": 0.75, "val_loss": 0.5})
    cbl.on_train_end()


def test_progbar_logger_verbose1_log_file(capsys, fake_clock):
    cbl = CallbackList(None, add_history=True, add_progbar=True, verbose=1, epochs=2, steps=3)
    assert isinstance(cbl.callbacks[-1], ProgbarLogger)
    _fit(cbl, fake_clock, 2, 3)
    line = (f"3/3 {BAR * 20} 0s 100ms/step - accuracy: 0.5000 - loss: 0.2500 "
            "- val_accuracy: 0.7500 - val_loss: 0.5000")
    assert capsys.readouterr().out == f"Epoch 1/2\n{line}\nEpoch 2/2\n{line}\n"


def test_progbar_logger_single_epoch_has_no_epoch_line(capsys, fake_clock):
    cbl = CallbackList(None, add_progbar=True, verbose="auto", epochs=1, steps=4)
    _fit(cbl, fake_clock, 1, 4, every=3)  # batches skipped: only batch 2 reported
    out = capsys.readouterr().out
    assert out == (f"4/4 {BAR * 20} 0s 100ms/step - accuracy: 0.5000 - loss: 0.2500 "
                   "- val_accuracy: 0.7500 - val_loss: 0.5000\n")


def test_progbar_logger_verbose2(capsys, fake_clock):
    cbl = CallbackList(None, add_progbar=True, verbose=2, epochs=3, steps=2)
    assert not cbl.wants_batch_progress("train")
    _fit(cbl, fake_clock, 3, 2)
    out = capsys.readouterr().out.splitlines()
    assert out[:2] == ["Epoch 1/3", "2/2 - 0s - 100ms/step - accuracy: 0.5000 - loss: 0.2500 "
                       "- val_accuracy: 0.7500 - val_loss: 0.5000"]
    assert len(out) == 6


def test_progbar_logger_live_redraws(monkeypatch, capsys, fake_clock):
    monkeypatch.setattr(_progbar, "_live_output", lambda stream: True)
    cbl = CallbackList(None, add_progbar=True, verbose=1, epochs=1, steps=2)
    _fit(cbl, fake_clock, 1, 2)
    out = capsys.readouterr().out
    assert out.count("\r") == 3  # batch 0, batch 1, final
    assert f"\r{B}1/2{R} {_bar(10)} {B}0s{R} 100ms/step - accuracy: 0.5000 - loss: 1.0000" in out
    assert out.endswith(f"{R} {B}0s{R} 100ms/step - accuracy: 0.5000 - loss: 0.2500 "
                        "- val_accuracy: 0.7500 - val_loss: 0.5000\n")


def test_progbar_logger_evaluate_and_predict(capsys, fake_clock):
    cbl = CallbackList(None, add_progbar=True, verbose=1, epochs=1, steps=2)
    cbl.on_test_begin()
    fake_clock.t += 0.3
    cbl.on_test_batch_end(1, {"loss": 0.5})
    cbl.on_test_end({"loss": 0.5, "mae": 0.25})
    assert capsys.readouterr().out == f"2/2 {BAR * 20} 0s 150ms/step - loss: 0.5000 - mae: 0.2500\n"
    cbl.on_predict_begin()
    fake_clock.t += 0.2
    cbl.on_predict_batch_end(1, {"outputs": 1})
    cbl.on_predict_end()
    assert capsys.readouterr().out == f"2/2 {BAR * 20} 0s 100ms/step\n"


def test_progbar_logger_unknown_steps_uses_seen(capsys, fake_clock):
    cbl = CallbackList(None, add_progbar=True, verbose=1, epochs=1, steps=None)
    cbl.on_train_begin()
    cbl.on_epoch_begin(0)
    fake_clock.t += 0.7
    cbl.on_train_batch_end(6, {"loss": 1.0})
    cbl.on_epoch_end(0, {"loss": 1.0})
    assert capsys.readouterr().out == f"7/7 {BAR * 20} 1s 100ms/step - loss: 1.0000\n"
