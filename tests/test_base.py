"""GANModel's random streams: each thread that traces a step numbers its own draws."""

import threading

from tests import linear_game
from tfgan_suite.variants.gan import GAN


def test_each_tracing_thread_numbers_its_own_draws():
    """Under MirroredStrategy every replica traces the step in its own thread, at the same
    time, on one model. Interleaved draws must still be numbered 0, 1, 2 in each thread
    (a counter shared by the threads would hand out 0, 2, 4 and 1, 3, 5)."""
    model = linear_game.build(GAN)
    barrier = threading.Barrier(2)
    seen = {0: [], 1: []}

    def trace(thread):
        for _ in range(3):
            barrier.wait()
            seen[thread].append(int(model.next_seed().numpy()[1]))  # step 0: the index
            barrier.wait()

    threads = [threading.Thread(target=trace, args=(i,)) for i in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen == {0: [0, 1, 2], 1: [0, 1, 2]}
