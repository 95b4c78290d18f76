"""Voice mixer: the only code that runs in the audio callback.

Everything is preallocated in ``__init__``; ``process`` uses numpy with ``out=``
only, touches no lock, does no I/O and never imports anything. Per block:

1. adopt new slot maps from the ring (seqlock-consistent copies), ack them;
2. start voices for scheduled hits (sample offsets) and queued events (offset 0);
3. mix every voice into the stereo bus (+ optional per-pad buses);
4. output stage: NaN/Inf scrub -> master gain (ramped) -> block gain-rider
   (instant attack, smooth release) -> tanh knee -> hard clip, so |y| <= 1 always.

Clicks are avoided by a 64-sample fade whenever a voice is cut early (choke,
steal, buffer reclaim); a voice that plays to its end already ends in a fade
(``dsp.shape_hit``). A new sound for a pad never cuts a ringing voice: the old
buffer keeps playing and only new hits take the new map.
"""
from __future__ import annotations

import time

import numpy as np

from .events import ALL_OFF, NOTE_OFF, NOTE_ON, EventQueue
from .shm_ring import ACK, Ring

FADE_LEN = 64          # samples (1.5 ms at 44.1 kHz): short, yet no audible click
N_TAIL = 16            # extra voice slots for fading-out (stolen/choked) voices
LIMIT_THRESHOLD = 0.85  # the gain rider aims the block peak here
KNEE = 0.8             # above this the tanh knee bends the waveform towards 1.0
RELEASE_S = 0.150       # limiter release time constant
BRIGHT_MAX = 1.0        # velocity-timbre: y = x + k (x[n] - x[n-1]), k in [-0.5, BRIGHT_MAX]
MAX_SCHEDULED = 1024


class Mixer:
    def __init__(self, ring: Ring, sample_rate: int, max_voices: int = 32, max_block: int = 4096,
                 per_pad_outputs: bool = False, velocity_curve: float = 1.5):
        L = ring.layout
        self.ring = ring
        self.sample_rate = sample_rate
        self.max_voices = max_voices
        self.max_block = max_block
        self.n_pads = P = L.n_pads
        self.velocity_curve = velocity_curve
        # -- per-pad parameters: single float/int stores from control threads (atomic under the GIL)
        self.pad_amp = np.ones(P, np.float64)
        self.pad_pan = np.tile(np.array([[np.sqrt(0.5), np.sqrt(0.5)]]), (P, 1))
        self.pad_choke = np.zeros(P, np.int64)
        self.pad_vt = np.zeros(P, np.float64)          # velocity -> brightness amount
        self.master = 1.0                              # target; ramped per block
        # -- local copies of the ring's maps (what this reader has adopted)
        self.seq = np.zeros(P, np.int64)
        self.map = np.zeros((P, L.n_slots), np.int64)
        self.lens = np.zeros((P, L.n_bufs), np.int64)
        self.meta = np.zeros((P, 2), np.int64)        # n_rr, gen
        self._map_tmp = np.zeros(L.n_slots, np.int64)
        self._len_tmp = np.zeros(L.n_bufs, np.int64)
        self._meta_tmp = np.zeros(2, np.int64)
        self._changed = np.zeros(P, bool)
        self.rr_pos = np.zeros(P, np.int64)
        # -- voice table
        VT = max_voices + N_TAIL
        self.n_slots_total = VT
        self.v_on = np.zeros(VT, bool)
        self.v_pad = np.zeros(VT, np.int64)
        self.v_buf = np.zeros(VT, np.int64)
        self.v_pos = np.zeros(VT, np.int64)
        self.v_len = np.zeros(VT, np.int64)
        self.v_start = np.zeros(VT, np.int64)          # offset in the current block where it starts
        self.v_age = np.zeros(VT, np.int64)
        self.v_gl = np.zeros(VT, np.float32)
        self.v_gr = np.zeros(VT, np.float32)
        self.v_gm = np.zeros(VT, np.float32)           # mono gain for per-pad outputs
        self.v_bright = np.zeros(VT, np.float32)
        self.v_fade_rem = np.zeros(VT, np.int64)       # 0 = not fading
        self.v_fade_at = np.zeros(VT, np.int64)        # block offset where the fade starts
        self._voice_serial = 0
        # -- scheduled hits (offline/sample-accurate) : pad, velocity, offset
        self.s_pad = np.zeros(MAX_SCHEDULED, np.int64)
        self.s_vel = np.zeros(MAX_SCHEDULED, np.float64)
        self.s_off = np.zeros(MAX_SCHEDULED, np.int64)
        self.n_sched = 0
        # -- audio buffers
        self.bus = np.zeros((2, max_block), np.float32)
        self.pad_bus = np.zeros((P, max_block), np.float32) if per_pad_outputs else None
        self._t1 = np.zeros(max_block, np.float32)
        self._t2 = np.zeros(max_block, np.float32)
        self._t3 = np.zeros(max_block, np.float32)
        self._ones = np.ones(max_block, np.float32)
        self._ramp01 = (np.arange(max_block, dtype=np.float32) + 1) / np.float32(max_block)
        self._mask = np.zeros(max_block, bool)
        self.fade_ramp = (1.0 - (np.arange(FADE_LEN, dtype=np.float32) + 1) / FADE_LEN).astype(np.float32)
        self._gain_now = 1.0                            # master * limiter gain at the end of last block
        self._lim = 1.0
        self._rel = float(np.exp(-1.0 / (RELEASE_S * sample_rate)))
        # -- counters (read by the status view; plain ints, written here only)
        self.frames = 0
        self.hits = self.steals = self.chokes = self.not_ready = self.hard_kills = 0
        self.nonfinite_blocks = 0
        self.last_hit_frame = np.full(P, -1, np.int64)
        self.last_hit_vel = np.zeros(P, np.float32)
        self.lat_s = np.zeros(256, np.float64)         # queue -> callback latency of recent events
        self.lat_n = 0
        self.limiter_gain = 1.0
        self.out_peak = 0.0                            # output peak meter, falls 20 dB/s
        self._peak_fall = float(10 ** (-20.0 / 20.0 / sample_rate))

    # ------------------------------------------------------------ parameters (control threads)
    def set_pad_mix(self, pad: int, amp: float, pan_lr: tuple[float, float], vt: float, choke: int) -> None:
        self.pad_amp[pad] = amp
        self.pad_pan[pad, 0], self.pad_pan[pad, 1] = pan_lr
        self.pad_vt[pad] = vt
        self.pad_choke[pad] = choke

    def schedule(self, pad: int, velocity: float, offset: int) -> None:
        """Sample-accurate hit in the next ``process`` call (offline renders, tests)."""
        if self.n_sched < MAX_SCHEDULED:
            i = self.n_sched
            self.s_pad[i], self.s_vel[i], self.s_off[i] = pad, velocity, offset
            self.n_sched = i + 1

    def active_voices(self) -> int:
        return int(np.count_nonzero(self.v_on))

    def ready(self, pad: int) -> bool:
        return bool(self.meta[pad, 0] > 0)

    # ------------------------------------------------------------ the block
    def process(self, n: int, out: np.ndarray, queue: EventQueue | None = None) -> None:
        """Render ``n`` frames into ``out`` [n, channels] float32 (2 + n_pads channels with per-pad outs)."""
        self._refresh_maps()
        for i in range(self.n_sched):
            self._note_on(int(self.s_pad[i]), float(self.s_vel[i]), min(max(int(self.s_off[i]), 0), n - 1))
        self.n_sched = 0
        if queue is not None:
            self._drain(queue)
        bus = self.bus[:, :n]
        bus.fill(0.0)
        if self.pad_bus is not None:
            self.pad_bus[:, :n].fill(0.0)
        # A plain loop over the voice table: np.flatnonzero would allocate an index array every block.
        v_on = self.v_on
        for v in range(v_on.shape[0]):
            if v_on[v]:
                self._mix_voice(v, n)
        self.ring.fb[:, ACK] = self.seq                 # after busy counts: see shm_ring protocol
        self._output_stage(n)
        out[:, 0] = self.bus[0, :n]
        if out.shape[1] > 1:
            out[:, 1] = self.bus[1, :n]
        if self.pad_bus is not None and out.shape[1] > 2:
            k = min(out.shape[1] - 2, self.n_pads)
            pb = self.pad_bus[:k, :n]
            np.fmin(pb, 1.0, out=pb)
            np.fmax(pb, -1.0, out=pb)
            out[:, 2:2 + k] = pb.T
        self.frames += n

    def adopt(self) -> None:
        """Adopt new maps and ack them outside a block (same-thread offline use only)."""
        self._refresh_maps()
        self.ring.fb[:, ACK] = self.seq

    # ------------------------------------------------------------ internals
    def _refresh_maps(self) -> None:
        hdr_seq = self.ring.hdr[:, 0]
        np.not_equal(hdr_seq, self.seq, out=self._changed)
        if not self._changed.any():
            return
        for p in np.flatnonzero(self._changed):
            p = int(p)
            s = self.ring.read_map(p, self._map_tmp, self._len_tmp, self._meta_tmp)
            if s >= 0:
                self.map[p] = self._map_tmp
                self.lens[p] = self._len_tmp
                self.meta[p] = self._meta_tmp
                self.seq[p] = s

    def _drain(self, q: EventQueue) -> None:
        w = int(q.idx[0])
        r = int(q.idx[1])
        now = time.perf_counter()
        while r < w:
            i = r % q.capacity
            k = int(q.kind[i])
            if k == NOTE_ON:
                self._note_on(int(q.pad[i]), float(q.vel[i]), 0)
                self.lat_s[self.lat_n % 256] = now - float(q.t_submit[i])
                self.lat_n += 1
            elif k == ALL_OFF:
                for v in np.flatnonzero(self.v_on):
                    self._start_fade(int(v), 0)
            elif k == NOTE_OFF:
                pass  # one-shots ignore note-off
            r += 1
        q.idx[1] = r

    def _start_fade(self, v: int, offset: int) -> None:
        if self.v_fade_rem[v] == 0:
            self.v_fade_rem[v] = FADE_LEN
            self.v_fade_at[v] = max(offset, int(self.v_start[v]))

    def _end_voice(self, v: int) -> None:
        self.v_on[v] = False
        self.v_fade_rem[v] = 0
        self.ring.busy[self.v_pad[v], self.v_buf[v]] -= 1

    def _note_on(self, pad: int, vel: float, offset: int) -> None:
        if not (0 <= pad < self.n_pads) or not (vel > 0.0):
            return
        vel = min(vel, 1.0)
        n_rr = int(self.meta[pad, 0])
        if n_rr <= 0:
            self.not_ready += 1
            return
        slot = int(self.rr_pos[pad] % n_rr) if n_rr > 1 else 0
        self.rr_pos[pad] += 1
        buf = int(self.map[pad, slot])
        length = int(self.lens[pad, buf])
        if length <= 0:
            self.not_ready += 1
            return
        group = int(self.pad_choke[pad])
        if group:
            for v in np.flatnonzero(self.v_on):
                if self.pad_choke[self.v_pad[v]] == group and self.v_fade_rem[v] == 0:
                    self._start_fade(int(v), offset)
                    self.chokes += 1
        v = self._alloc_voice(offset)
        if n_rr > 1:
            self.ring.played[pad, slot] += 1          # tells the renderer to refill this slot
        self.ring.busy[pad, buf] += 1
        g = (vel ** self.velocity_curve) * float(self.pad_amp[pad])
        self._voice_serial += 1
        self.v_on[v] = True
        self.v_pad[v], self.v_buf[v], self.v_pos[v], self.v_len[v] = pad, buf, 0, length
        self.v_start[v] = offset
        self.v_age[v] = self._voice_serial
        self.v_gl[v] = g * self.pad_pan[pad, 0]
        self.v_gr[v] = g * self.pad_pan[pad, 1]
        self.v_gm[v] = g
        self.v_bright[v] = self.pad_vt[pad] * (vel - 0.5) * (2.0 * BRIGHT_MAX if vel > 0.5 else 1.0)
        self.v_fade_rem[v] = 0
        self.v_fade_at[v] = 0
        self.hits += 1
        self.last_hit_frame[pad] = self.frames + offset
        self.last_hit_vel[pad] = vel

    def _alloc_voice(self, offset: int) -> int:
        sounding = 0
        oldest, oldest_age = -1, 1 << 62
        free = -1
        for v in range(self.n_slots_total):
            if not self.v_on[v]:
                if free < 0:
                    free = v
            elif self.v_fade_rem[v] == 0:
                sounding += 1
                if self.v_age[v] < oldest_age:
                    oldest, oldest_age = v, int(self.v_age[v])
        if sounding >= self.max_voices and oldest >= 0:
            self._start_fade(oldest, offset)        # steal: the oldest fades out, the new one starts
            self.steals += 1
        if free < 0:                                # every tail slot is fading: cut the nearest-done fade
            on = np.flatnonzero(self.v_on & (self.v_fade_rem > 0))
            free = int(on[np.argmin(self.v_fade_rem[on])]) if on.size else 0
            self._end_voice(free)
            self.hard_kills += 1
        return free

    def _mix_voice(self, v: int, n: int) -> None:
        s = int(self.v_start[v])
        pos = int(self.v_pos[v])
        c = min(n - s, int(self.v_len[v]) - pos)
        fading = int(self.v_fade_rem[v])
        if fading:
            f0 = int(self.v_fade_at[v])
            c = min(c, f0 + fading - s)
        if c <= 0:
            self._end_voice(v)
            return
        src = self.ring.audio[self.v_pad[v], self.v_buf[v], pos:pos + c]
        t = self._t1[:c]
        k = float(self.v_bright[v])
        if k != 0.0:                                     # velocity -> brightness (1st-order FIR tilt)
            prev = self._t2[:c]
            if pos > 0:
                prev[:] = self.ring.audio[self.v_pad[v], self.v_buf[v], pos - 1:pos - 1 + c]
            else:
                prev[0] = 0.0
                prev[1:] = src[:c - 1]
            np.subtract(src, prev, out=t)
            np.multiply(t, k, out=t)
            np.add(t, src, out=t)
        else:
            t[:] = src
        if fading:
            a = max(f0 - s, 0)                           # samples before the fade starts
            m = c - a
            i0 = FADE_LEN - fading
            np.multiply(t[a:], self.fade_ramp[i0:i0 + m], out=t[a:])
            self.v_fade_rem[v] = fading - m
        g = self._t3[:c]
        np.multiply(t, self.v_gl[v], out=g)
        dst = self.bus[0, s:s + c]
        np.add(dst, g, out=dst)
        np.multiply(t, self.v_gr[v], out=g)
        dst = self.bus[1, s:s + c]
        np.add(dst, g, out=dst)
        if self.pad_bus is not None:
            np.multiply(t, self.v_gm[v], out=g)
            dst = self.pad_bus[self.v_pad[v], s:s + c]
            np.add(dst, g, out=dst)
        self.v_pos[v] = pos + c
        self.v_start[v] = 0
        self.v_fade_at[v] = 0
        if pos + c >= self.v_len[v] or (fading and self.v_fade_rem[v] <= 0):
            self._end_voice(v)

    def _output_stage(self, n: int) -> None:
        bus = self.bus[:, :n]
        mask = self._mask[:n]
        for ch in (0, 1):                                # scrub before anything can smear it
            x = bus[ch]
            np.isfinite(x, out=mask)
            if not mask.all():
                np.logical_not(mask, out=mask)
                x[mask] = 0.0
                self.nonfinite_blocks += 1
        a = self._t1[:n]
        np.abs(bus[0], out=a)
        peak = float(a.max())
        np.abs(bus[1], out=a)
        peak = max(peak, float(a.max()))
        master = float(self.master)
        if not np.isfinite(master) or master < 0.0:
            master = 0.0
        # gain rider: instant attack to the level that puts this block's peak at the threshold,
        # exponential release back towards unity
        want = LIMIT_THRESHOLD / (peak * master) if peak * master > LIMIT_THRESHOLD else 1.0
        rel = self._rel ** n
        lim = min(want, 1.0 - (1.0 - self._lim) * rel)
        self._lim = lim
        self.limiter_gain = lim
        g0, g1 = self._gain_now, master * lim
        self._gain_now = g1
        self.out_peak = max(min(peak * max(g0, g1), 1.0), self.out_peak * self._peak_fall ** n)
        ramp = self._t2[:n]
        if g0 == g1:
            ramp.fill(g1)
        else:                                            # linear ramp: no zipper steps at block edges
            np.multiply(self._ramp_n(n), g1 - g0, out=ramp)
            np.add(ramp, g0, out=ramp)
        over = self._t3[:n]
        for ch in (0, 1):
            x = bus[ch]
            np.multiply(x, ramp, out=x)
            # tanh knee: y = x - sign(x) * (o - (1-K) tanh(o / (1-K))), o = max(|x| - K, 0)
            np.abs(x, out=over)
            np.subtract(over, KNEE, out=over)
            np.maximum(over, 0.0, out=over)
            if over.any():
                np.divide(over, 1.0 - KNEE, out=a)
                np.tanh(a, out=a)
                np.multiply(a, 1.0 - KNEE, out=a)
                np.subtract(over, a, out=over)
                np.copysign(over, x, out=over)
                np.subtract(x, over, out=x)
            np.fmin(x, 1.0, out=x)                       # the hard guarantee (NaN-safe)
            np.fmax(x, -1.0, out=x)

    def _ramp_n(self, n: int) -> np.ndarray:
        """(1..n)/n without allocating: a view of a preallocated ramp for this block size."""
        if getattr(self, "_ramp_cache_n", 0) != n:
            self._ramp_cache = self._ramp01[:n] * np.float32(self.max_block / n)  # allocates once per size
            self._ramp_cache_n = n
        return self._ramp_cache
