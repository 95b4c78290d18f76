"""Shared-memory ring: a writer in another process, a reader that must never see half-written audio."""
from __future__ import annotations

import multiprocessing as mp
import time

import numpy as np

from liveinstrument.engine.shm_ring import ACK, Ring, RingLayout

LAYOUT = RingLayout(n_pads=2, n_slots=4, n_bufs=8, buf_len=20_000)


def _writer(name: str, n_gens: int) -> None:
    """Protocol-following writer: fill a free buffer with the generation number, then publish."""
    ring = Ring.attach(name, LAYOUT)
    removed_at = np.zeros((LAYOUT.n_pads, LAYOUT.n_bufs), np.int64)
    maps = [np.zeros(LAYOUT.n_slots, np.int64) for _ in range(LAYOUT.n_pads)]
    for g in range(1, n_gens + 1):
        for p in range(LAYOUT.n_pads):
            for _ in range(20000):
                ack = int(ring.fb[p, ACK])
                free = [b for b in range(LAYOUT.n_bufs) if b not in set(maps[p].tolist())
                        and ring.busy[p, b] == 0 and ack >= removed_at[p, b]]
                if free:
                    break
                time.sleep(0.0002)
            else:
                raise RuntimeError("reader never acked")
            b = free[0]
            n = 5000 + (g * 997) % 15000
            # write slowly, in pieces: a reader adopting this too early would see a mix
            for i in range(0, n, 2500):
                ring.audio[p, b, i:min(n, i + 2500)] = float(g)
            ring.audio[p, b, n:] = 0.0
            ring.buf_len[p, b] = n
            old = set(maps[p].tolist())
            maps[p] = maps[p].copy()
            maps[p][g % LAYOUT.n_slots] = b
            if g == 1:
                maps[p][:] = b
            ring.publish(p, maps[p], n_rr=LAYOUT.n_slots, gen=g)
            seq = int(ring.hdr[p, 0])
            for ob in old - set(maps[p].tolist()):
                removed_at[p, ob] = seq
    ring.close()


def test_reader_sees_only_complete_generations():
    ring = Ring.create(LAYOUT)
    try:
        n_gens = 300
        proc = mp.get_context("spawn").Process(target=_writer, args=(ring.name, n_gens))
        proc.start()
        m = np.zeros(LAYOUT.n_slots, np.int64)
        lens = np.zeros(LAYOUT.n_bufs, np.int64)
        meta = np.zeros(2, np.int64)
        seen_gen = np.zeros(LAYOUT.n_pads, np.int64)
        checks = 0
        t_end = time.monotonic() + 60
        while time.monotonic() < t_end and (proc.is_alive() or seen_gen.min() < n_gens):
            for p in range(LAYOUT.n_pads):
                s = ring.read_map(p, m, lens, meta)
                if s < 0 or meta[0] == 0:
                    continue
                for b in set(m.tolist()):
                    x = ring.audio[p, b, :lens[b]]
                    # complete: every sample of the buffer carries one generation, and the
                    # map's generation is at least that of each buffer it points to
                    assert x.size > 0 and np.all(x == x[0]), f"torn buffer pad {p} buf {b}"
                    assert 1 <= x[0] <= meta[1]
                    assert np.all(ring.audio[p, b, lens[b]:lens[b] + 100] == 0.0)
                    checks += 1
                assert meta[1] >= seen_gen[p]
                seen_gen[p] = meta[1]
                ring.fb[p, ACK] = s
            if not proc.is_alive() and seen_gen.min() >= n_gens:
                break
        proc.join(10)
        assert proc.exitcode == 0
        assert seen_gen.min() == n_gens and checks > 100
    finally:
        ring.close()
