"""The long calls release the GIL, and Ctrl-C stops them cleanly."""

import os
import signal
import threading
import time

import pytest

import ttfs

CNN = "fixtures/models/mnist-cnn.safetensors"


@pytest.fixture(scope="module")
def cnn_chip(repo, loihi):
    return ttfs.Model.load(repo / CNN).compile(loihi)  # no calibration: quick


def test_other_threads_run_while_the_emulator_does(cnn_chip, mnist):
    images, labels = mnist
    result = {}
    worker = threading.Thread(
        target=lambda: result.update(report=ttfs.run(cnn_chip, images[:100], labels[:100]))
    )
    ticks = 0
    worker.start()
    while worker.is_alive():
        ticks += 1
        time.sleep(0.002)
    worker.join()
    assert result["report"].images == 100
    # Held GIL: the loop would not run until the run returned.
    assert ticks > 50, ticks


def test_ctrl_c_stops_a_run_with_keyboard_interrupt(cnn_chip, mnist):
    images, labels = mnist
    timer = threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGINT))
    started = time.monotonic()
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        ttfs.run(cnn_chip, images[:5000], labels[:5000])
    stopped = time.monotonic() - started
    timer.join()
    # 5,000 CNN inferences take minutes here; the interrupt ends the call within seconds.
    assert stopped < 15, stopped
    # The package works on after an interrupt.
    assert ttfs.run(cnn_chip, images[:3], labels[:3]).images == 3
