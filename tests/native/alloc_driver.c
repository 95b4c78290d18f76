/* Allocation check for the real-time core: this program links the core's sources and
 * defines malloc/calloc/realloc/free itself, so every heap call anywhere in the process
 * (the core, libc, libm) goes through the counters below. It builds a core (allocations
 * allowed), arms the counter, then drives the block code through the note-on, choke,
 * steal, map-change, all-off, NaN-scrub and oversize-block-split paths, and prints the
 * number of heap calls made while armed. `--self-check` allocates once while armed, to
 * show the hook sees allocations (the test expects 1 there). */
#define _GNU_SOURCE
#include "../../liveinstrument/engine/native/rtcore.h"
#include <math.h>
#include <stdio.h>
#include <string.h>

extern void *__libc_malloc(size_t), *__libc_calloc(size_t, size_t), *__libc_realloc(void *, size_t);
extern void __libc_free(void *);
static volatile int armed;
static volatile long heap_calls;
void *malloc(size_t n) { if (armed) heap_calls++; return __libc_malloc(n); }
void *calloc(size_t a, size_t b) { if (armed) heap_calls++; return __libc_calloc(a, b); }
void *realloc(void *p, size_t n) { if (armed) heap_calls++; return __libc_realloc(p, n); }
void free(void *p) { if (armed && p) heap_calls++; __libc_free(p); }

enum { P = 4, S = 2, B = 6, L = 4096, HC = 4 + S + B, FC = 4 + B + S, CAP = 256 };
static float audio[P * B * L];
static int64_t hdr[P * HC], fb[P * FC];
static _Alignas(64) unsigned char evmem[192 + CAP * 32];
static double params[P * 5 + 1], durations[N_TIMINGS], lat[N_LAT], limg[2];
static int64_t seq[P], map_[P * S], lens[P * B], meta[P * 2], stats[ST_N], last_hit[P];
static float out[8192 * 2];

int main(int argc, char **argv) {
    int self_check = argc > 1 && strcmp(argv[1], "--self-check") == 0;
    rt_config cfg = {P, S, B, L, 4, 512, 0, 44100.0, 1.5};
    rt_ring_hdr *ev = (rt_ring_hdr *)evmem;
    rt_ring_init(ev, CAP, 32);
    rt_shared sh = {audio, hdr, fb, ev, params, seq, map_, lens, meta, stats, durations, lat, limg, last_hit};
    rt_core *c = rt_create(&cfg, &sh);
    if (!c) return 2;
    for (int i = 0; i < P * B * L; i++) audio[i] = 0.2f * sinf(0.01f * i);
    for (int i = 0; i < P * B; i++) audio[(size_t)i * L + 5] = NAN;   /* every buffer: the scrub path */
    for (int p = 0; p < P; p++) {
        for (int b = 0; b < B; b++) hdr[p * HC + 4 + S + b] = L;
        int64_t m[S] = {0, 1};
        rt_seq_publish(&hdr[p * HC], 4, m, S, 2, 1, 2, 1);
        params[p * 5 + 0] = 1.0; params[p * 5 + 1] = params[p * 5 + 2] = 0.7;
        params[p * 5 + 3] = 0.5;                          /* velocity -> brightness path */
        params[p * 5 + 4] = p >= 2 ? 1 : 0;               /* pads 2 and 3 choke each other */
    }
    params[P * 5] = 4.0;                                  /* hot master: the limiter works */
    rt_process(c, out, 128, 2);                           /* warm-up outside the armed region */
    armed = 1;
    if (self_check) { void *volatile p = malloc(16); armed = 0; free(p); armed = 1; }
    for (int blk = 0; blk < 400; blk++) {
        int64_t t = rt_now_frame(c);
        for (int k = 0; k < 3; k++)                       /* 3 hits per block: voices get stolen */
            rt_ev_push(ev, t + 17 * k, EV_NOTE_ON, (blk + k) % P, 0.3f + 0.2f * k, 1.0);
        if (blk % 7 == 0) rt_ev_push(ev, t + 5, EV_NOTE_ON, 2 + blk % 2, 1.0f, 1.0);   /* choke */
        if (blk % 50 == 0) rt_ev_push(ev, -1, EV_ALL_OFF, 0, 0.0f, 0.0);
        if (blk % 10 == 0) {                              /* the renderer publishes a new map */
            int p = blk / 10 % P;
            int64_t m[S] = {2 + blk / 10 % 4, 3};
            rt_seq_publish(&hdr[p * HC], 4, m, S, 2, blk, 2, 1);
        }
        rt_process(c, out, blk % 25 == 0 ? 2048 : 128, 2);   /* sometimes larger than max_block: split */
    }
    armed = 0;
    printf("heap_calls %ld hits %lld steals %lld chokes %lld splits %lld nonfinite %lld\n", heap_calls,
           (long long)stats[ST_HITS], (long long)stats[ST_STEALS], (long long)stats[ST_CHOKES],
           (long long)stats[ST_SPLITS], (long long)stats[ST_NONFINITE]);
    rt_destroy(c);
    return 0;
}
