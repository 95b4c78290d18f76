/* The per-block code of the instrument: voices, event intake, map adoption, output stage.
 * Same algorithm as the numpy mixer it replaces (see mixer.py for the Python face):
 *   1. adopt new slot maps from the shared ring (seqlock copies, acquire/release), ack them;
 *   2. start voices for events due in this block at their sample offsets;
 *   3. mix every voice into the stereo bus (+ optional per-pad buses);
 *   4. output: NaN/Inf scrub -> master gain (ramped) -> gain rider -> tanh knee -> clip.
 * A cut voice (choke, steal, reclaim) fades over FADE_LEN samples, so nothing clicks.
 */
#define _GNU_SOURCE
#include "rtcore.h"
#include <math.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FADE_LEN 64
#define N_TAIL 16
#define LIMIT_THRESHOLD 0.85f
#define KNEE 0.8f
#define RELEASE_S 0.150
#define BRIGHT_MAX 1.0f
#define MAX_PEND 1024
/* ring table columns (shm_ring.py) */
#define SEQ 0
#define GEN 1
#define N_RR 2
#define H_SLOTS 4
#define ACK 0
#define F_BUSY 4

#define A64(p) ((_Atomic int64_t *)(p))
#define LOAD(p) atomic_load_explicit(A64(p), memory_order_relaxed)
#define STORE(p, v) atomic_store_explicit(A64(p), (v), memory_order_relaxed)

typedef struct {
    int on, pad, buf, fade_rem, fade_at, start;
    int64_t pos, len, age;
    float gl, gr, gm, bright;
} voice;

struct rt_core {
    rt_config cfg;
    rt_shared sh;
    int P, S, B, L, hc, fc, VT;
    voice *v;
    rt_event *pend;
    int n_pend;
    int64_t *rr_pos;
    float *bus0, *bus1, *pad_bus, *t1, *t2;
    float fade_ramp[FADE_LEN];
    double gain_now, lim, rel, peak_fall;
    int64_t serial;
    int64_t clock_next;          /* sample time of the next block (running clock) */
    _Atomic int64_t epoch_ns;    /* monotonic ns of sample 0, as the audio callback sees it */
    double epoch_est;
    int epoch_valid;
    _Atomic int64_t jack_base;   /* the last JACK cycle's frame, 64-bit (0: no JACK) */
    void *jack;                  /* rt_jack, when a JACK client drives the core */
    int64_t (*jack_now)(void *j, int64_t base);
    int pa_out_ch, pa_in_ch;
    float *in_buf; int64_t *in_idx; int64_t in_mask; int in_ch;
};

int rt_abi(void) { return RT_ABI; }

static inline int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

rt_core *rt_create(const rt_config *cfg, const rt_shared *sh) {
    rt_core *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->cfg = *cfg;
    c->sh = *sh;
    c->P = cfg->n_pads; c->S = cfg->n_slots; c->B = cfg->n_bufs; c->L = cfg->buf_len;
    c->hc = H_SLOTS + c->S + c->B;
    c->fc = F_BUSY + c->B + c->S;
    c->VT = cfg->max_voices + N_TAIL;
    int mb = cfg->max_block;
    c->v = calloc(c->VT, sizeof(voice));
    c->pend = calloc(MAX_PEND, sizeof(rt_event));
    c->rr_pos = calloc(c->P, sizeof(int64_t));
    c->bus0 = calloc(mb, sizeof(float));
    c->bus1 = calloc(mb, sizeof(float));
    c->t1 = calloc(mb, sizeof(float));
    c->t2 = calloc(mb, sizeof(float));
    c->pad_bus = cfg->per_pad_outputs ? calloc((size_t)c->P * mb, sizeof(float)) : NULL;
    if (!c->v || !c->pend || !c->rr_pos || !c->bus0 || !c->bus1 || !c->t1 || !c->t2 ||
        (cfg->per_pad_outputs && !c->pad_bus)) {
        rt_destroy(c);
        return NULL;
    }
    for (int i = 0; i < FADE_LEN; i++) c->fade_ramp[i] = 1.0f - (float)(i + 1) / FADE_LEN;
    c->gain_now = 1.0;
    c->lim = 1.0;
    c->rel = exp(-1.0 / (RELEASE_S * cfg->sample_rate));
    c->peak_fall = pow(10.0, -20.0 / 20.0 / cfg->sample_rate);
    c->pa_out_ch = 2;
    if (c->sh.limiter_gain) c->sh.limiter_gain[0] = 1.0;
    return c;
}

void rt_destroy(rt_core *c) {
    if (!c) return;
    free(c->v); free(c->pend); free(c->rr_pos); free(c->bus0); free(c->bus1);
    free(c->t1); free(c->t2); free(c->pad_bus);
    free(c);
}

void rt_set_input(rt_core *c, float *buf, int64_t *idx, int64_t mask, int channel) {
    c->in_buf = buf; c->in_idx = idx; c->in_mask = mask; c->in_ch = channel;
}

void rt_set_pa_channels(rt_core *c, int out_channels, int in_channels) {
    c->pa_out_ch = out_channels; c->pa_in_ch = in_channels;
}

static inline void stat_add(rt_core *c, int k, int64_t d) { STORE(&c->sh.stats[k], LOAD(&c->sh.stats[k]) + d); }

/* ------------------------------------------------------------------ rings */
void rt_ring_init(rt_ring_hdr *h, int64_t capacity, int64_t rec_size) {
    memset(h, 0, sizeof *h);
    h->capacity = capacity;
    h->rec_size = rec_size;
}

int rt_ev_push(rt_ring_hdr *h, int64_t t, int kind, int pad, float vel, double t_submit) {
    /* single producer (Python serialises its threads with a lock): write, then release */
    int64_t w = atomic_load_explicit(&h->write, memory_order_relaxed);
    int64_t r = atomic_load_explicit(&h->read, memory_order_acquire);
    if (w - r >= h->capacity) {
        atomic_fetch_add_explicit(&h->dropped, 1, memory_order_relaxed);
        return 0;
    }
    rt_event *e = (rt_event *)(h + 1) + (w & (h->capacity - 1));
    e->t = t; e->kind = kind; e->pad = pad; e->vel = vel; e->_r = 0; e->t_submit = t_submit;
    atomic_store_explicit(&h->write, w + 1, memory_order_release);
    return 1;
}

static void pull_events(rt_core *c) {
    rt_ring_hdr *h = c->sh.events;
    if (!h) return;
    int64_t r = atomic_load_explicit(&h->read, memory_order_relaxed);
    int64_t w = atomic_load_explicit(&h->write, memory_order_acquire);
    const rt_event *recs = (const rt_event *)(h + 1);
    while (r < w) {
        if (c->n_pend >= MAX_PEND) { stat_add(c, ST_PENDING_FULL, 1); break; }
        c->pend[c->n_pend++] = recs[r & (h->capacity - 1)];
        r++;
    }
    atomic_store_explicit(&h->read, r, memory_order_release);
}

int64_t rt_midi_pop(rt_ring_hdr *h, rt_midi *out, int64_t max) {
    int64_t r = atomic_load_explicit(&h->read, memory_order_relaxed);
    int64_t w = atomic_load_explicit(&h->write, memory_order_acquire);
    int64_t n = 0;
    const rt_midi *recs = (const rt_midi *)(h + 1);
    while (r < w && n < max) out[n++] = recs[r++ & (h->capacity - 1)];
    atomic_store_explicit(&h->read, r, memory_order_release);
    return n;
}

/* ------------------------------------------------------------------ seqlock */
void rt_seq_publish(int64_t *h, int h_slots, const int64_t *map, int n_slots, int64_t n_rr, int64_t gen,
                    int n_rr_col, int gen_col) {
    int64_t s = LOAD(&h[SEQ]);
    STORE(&h[SEQ], s + 1);                                /* odd: editing */
    atomic_thread_fence(memory_order_release);            /* odd seq before any map store */
    for (int i = 0; i < n_slots; i++) STORE(&h[h_slots + i], map[i]);
    STORE(&h[n_rr_col], n_rr);
    if (gen >= 0) STORE(&h[gen_col], gen);
    /* release: the audio (written before this call) and the map before the even seq */
    atomic_store_explicit(A64(&h[SEQ]), s + 2, memory_order_release);
}

static void refresh_maps(rt_core *c) {
    for (int p = 0; p < c->P; p++) {
        int64_t *h = c->sh.hdr + (size_t)p * c->hc;
        int64_t s1 = atomic_load_explicit(A64(&h[SEQ]), memory_order_acquire);
        if (s1 == c->sh.seq[p] || (s1 & 1)) continue;
        int64_t map[64], lens[256];
        int S = c->S < 64 ? c->S : 64, B = c->B < 256 ? c->B : 256;
        for (int i = 0; i < S; i++) map[i] = LOAD(&h[H_SLOTS + i]);
        for (int i = 0; i < B; i++) lens[i] = LOAD(&h[H_SLOTS + c->S + i]);
        int64_t n_rr = LOAD(&h[N_RR]), gen = LOAD(&h[GEN]);
        atomic_thread_fence(memory_order_acquire);        /* the copies before the re-check */
        if (LOAD(&h[SEQ]) != s1) continue;                /* writer was mid-update: keep the old map */
        for (int i = 0; i < S; i++) c->sh.map[p * c->S + i] = map[i];
        for (int i = 0; i < B; i++) c->sh.lens[p * c->B + i] = lens[i];
        c->sh.meta[p * 2] = n_rr;
        c->sh.meta[p * 2 + 1] = gen;
        STORE(&c->sh.seq[p], s1);
    }
}

static void ack_maps(rt_core *c) {
    /* release: the busy counts written this block are visible before the ack */
    for (int p = 0; p < c->P; p++)
        atomic_store_explicit(A64(&c->sh.fb[(size_t)p * c->fc + ACK]), c->sh.seq[p], memory_order_release);
}

void rt_adopt(rt_core *c) { refresh_maps(c); ack_maps(c); }

/* ------------------------------------------------------------------ voices */
static inline int64_t *busy(rt_core *c, int pad, int buf) { return &c->sh.fb[(size_t)pad * c->fc + F_BUSY + buf]; }

static void start_fade(rt_core *c, int v, int offset) {
    voice *x = &c->v[v];
    if (x->fade_rem == 0) {
        x->fade_rem = FADE_LEN;
        x->fade_at = offset > x->start ? offset : x->start;
    }
}

static void end_voice(rt_core *c, int v) {
    voice *x = &c->v[v];
    x->on = 0;
    x->fade_rem = 0;
    int64_t *b = busy(c, x->pad, x->buf);
    STORE(b, LOAD(b) - 1);
}

static int alloc_voice(rt_core *c, int offset) {
    int sounding = 0, oldest = -1, free_v = -1;
    int64_t oldest_age = INT64_MAX;
    for (int v = 0; v < c->VT; v++) {
        voice *x = &c->v[v];
        if (!x->on) { if (free_v < 0) free_v = v; }
        else if (x->fade_rem == 0) {
            sounding++;
            if (x->age < oldest_age) { oldest = v; oldest_age = x->age; }
        }
    }
    if (sounding >= c->cfg.max_voices && oldest >= 0) {   /* steal: the oldest fades out */
        start_fade(c, oldest, offset);
        stat_add(c, ST_STEALS, 1);
    }
    if (free_v < 0) {                                     /* every tail slot fading: cut the nearest-done */
        int best = -1;
        for (int v = 0; v < c->VT; v++)
            if (c->v[v].on && c->v[v].fade_rem > 0 && (best < 0 || c->v[v].fade_rem < c->v[best].fade_rem)) best = v;
        free_v = best >= 0 ? best : 0;
        end_voice(c, free_v);
        stat_add(c, ST_HARD_KILLS, 1);
    }
    return free_v;
}

static void note_on(rt_core *c, int pad, float vel, int offset) {
    if (pad < 0 || pad >= c->P || !(vel > 0.0f)) return;
    if (vel > 1.0f) vel = 1.0f;
    int64_t n_rr = c->sh.meta[pad * 2];
    if (n_rr <= 0) { stat_add(c, ST_NOT_READY, 1); return; }
    int slot = n_rr > 1 ? (int)(c->rr_pos[pad] % n_rr) : 0;
    c->rr_pos[pad]++;
    int64_t buf = c->sh.map[pad * c->S + slot];
    if (buf < 0 || buf >= c->B) { stat_add(c, ST_NOT_READY, 1); return; }
    int64_t length = c->sh.lens[pad * c->B + buf];
    if (length > c->L) length = c->L;
    if (length <= 0) { stat_add(c, ST_NOT_READY, 1); return; }
    const double *pr = c->sh.params + pad * PR_N;
    int group = (int)pr[PR_CHOKE];
    if (group) {
        for (int v = 0; v < c->VT; v++) {
            voice *x = &c->v[v];
            if (x->on && x->fade_rem == 0 && (int)c->sh.params[x->pad * PR_N + PR_CHOKE] == group) {
                start_fade(c, v, offset);
                stat_add(c, ST_CHOKES, 1);
            }
        }
    }
    int v = alloc_voice(c, offset);
    if (n_rr > 1) {                                       /* tells the renderer to refill this slot */
        int64_t *pl = &c->sh.fb[(size_t)pad * c->fc + F_BUSY + c->B + slot];
        STORE(pl, LOAD(pl) + 1);
    }
    int64_t *b = busy(c, pad, (int)buf);
    STORE(b, LOAD(b) + 1);
    double g = pow(vel, c->cfg.velocity_curve) * pr[PR_AMP];
    voice *x = &c->v[v];
    x->on = 1; x->pad = pad; x->buf = (int)buf; x->pos = 0; x->len = length;
    x->start = offset; x->age = ++c->serial;
    x->gl = (float)(g * pr[PR_PAN_L]);
    x->gr = (float)(g * pr[PR_PAN_R]);
    x->gm = (float)g;
    x->bright = (float)(pr[PR_VT] * (vel - 0.5) * (vel > 0.5f ? 2.0 * BRIGHT_MAX : 1.0));
    x->fade_rem = 0; x->fade_at = 0;
    stat_add(c, ST_HITS, 1);
    c->sh.last_hit_frame[pad] = c->clock_next + offset;
}

static void all_off(rt_core *c, int offset) {
    for (int v = 0; v < c->VT; v++) if (c->v[v].on) start_fade(c, v, offset);
}

/* events due before t0 + n start at their offsets, in time order; later ones wait */
static void apply_events(rt_core *c, int64_t t0, int n) {
    pull_events(c);
    double now_s = 0.0;
    int have_now = 0;
    for (;;) {
        int best = -1;
        for (int i = 0; i < c->n_pend; i++) {
            int64_t t = c->pend[i].t;
            if (t >= t0 + n) continue;
            if (best < 0 || t < c->pend[best].t) best = i;
        }
        if (best < 0) break;
        rt_event e = c->pend[best];
        c->pend[best] = c->pend[--c->n_pend];
        int off = 0;
        if (e.t >= 0) {
            if (e.t < t0) stat_add(c, ST_LATE, 1);
            else off = (int)(e.t - t0);
        }
        stat_add(c, ST_EVENTS, 1);
        if (e.kind == EV_NOTE_ON) {
            note_on(c, e.pad, e.vel, off);
            if (e.t_submit > 0.0 && c->sh.lat) {
                if (!have_now) { now_s = now_ns() * 1e-9; have_now = 1; }
                int64_t k = LOAD(&c->sh.stats[ST_LAT_N]);
                c->sh.lat[k % N_LAT] = now_s - e.t_submit;
                STORE(&c->sh.stats[ST_LAT_N], k + 1);
            }
        } else if (e.kind == EV_ALL_OFF) {
            all_off(c, off);
        }                                               /* note-off: one-shots ignore it */
    }
}

static void mix_voice(rt_core *c, int v, int n) {
    voice *x = &c->v[v];
    int s = x->start;
    int64_t pos = x->pos;
    int64_t cc = n - s;
    if (x->len - pos < cc) cc = x->len - pos;
    int fading = x->fade_rem, f0 = x->fade_at;
    if (fading && f0 + fading - s < cc) cc = f0 + fading - s;
    if (cc <= 0) { end_voice(c, v); return; }
    const float *src = c->sh.audio + ((size_t)x->pad * c->B + x->buf) * c->L + pos;
    float *t = c->t1;
    float k = x->bright;
    if (k != 0.0f) {                                       /* velocity -> brightness (1st-order tilt) */
        float prev = pos > 0 ? src[-1] : 0.0f;
        for (int64_t i = 0; i < cc; i++) { float y = src[i]; t[i] = y + k * (y - prev); prev = y; }
    } else {
        memcpy(t, src, (size_t)cc * sizeof(float));
    }
    if (fading) {
        int a = f0 - s > 0 ? f0 - s : 0;                    /* samples before the fade starts */
        int m = (int)cc - a;
        int i0 = FADE_LEN - fading;
        for (int i = 0; i < m; i++) t[a + i] *= c->fade_ramp[i0 + i];
        x->fade_rem = fading - m;
    }
    float *d0 = c->bus0 + s, *d1 = c->bus1 + s;
    float gl = x->gl, gr = x->gr;
    for (int64_t i = 0; i < cc; i++) { d0[i] += t[i] * gl; d1[i] += t[i] * gr; }
    if (c->pad_bus) {
        float *dp = c->pad_bus + (size_t)x->pad * c->cfg.max_block + s;
        float gm = x->gm;
        for (int64_t i = 0; i < cc; i++) dp[i] += t[i] * gm;
    }
    x->pos = pos + cc;
    x->start = 0;
    x->fade_at = 0;
    if (x->pos >= x->len || (fading && x->fade_rem <= 0)) end_voice(c, v);
}

static float knee(float x) {
    /* y = x - sign(x) * (o - (1-K) tanh(o / (1-K))), o = max(|x| - K, 0): smooth towards 1.0 */
    float o = fabsf(x) - KNEE;
    if (o <= 0.0f) return x;
    float over = o - (1.0f - KNEE) * tanhf(o / (1.0f - KNEE));
    return x - copysignf(over, x);
}

static void output_stage(rt_core *c, int n) {
    float *bus[2] = {c->bus0, c->bus1};
    int bad = 0;
    float peak = 0.0f;
    for (int ch = 0; ch < 2; ch++) {                        /* scrub before anything can smear it */
        float *x = bus[ch];
        for (int i = 0; i < n; i++) {
            if (!isfinite(x[i])) { x[i] = 0.0f; bad = 1; }
            float a = fabsf(x[i]);
            if (a > peak) peak = a;
        }
    }
    if (bad) stat_add(c, ST_NONFINITE, 1);
    double master = c->sh.params[c->P * PR_N];
    if (!isfinite(master) || master < 0.0) master = 0.0;
    /* gain rider: instant attack to put this block's peak at the threshold, exponential release */
    double pm = peak * master;
    double want = pm > LIMIT_THRESHOLD ? LIMIT_THRESHOLD / pm : 1.0;
    double rel = pow(c->rel, n);
    double lim = 1.0 - (1.0 - c->lim) * rel;
    if (want < lim) lim = want;
    c->lim = lim;
    if (c->sh.limiter_gain) c->sh.limiter_gain[0] = lim;
    double g0 = c->gain_now, g1 = master * lim;
    c->gain_now = g1;
    if (c->sh.limiter_gain) {                             /* peak meter for the UI, decaying hold */
        double pk = peak * (g0 > g1 ? g0 : g1), held = c->sh.limiter_gain[1] * pow(c->peak_fall, n);
        c->sh.limiter_gain[1] = pk > 1.0 ? 1.0 : (pk > held ? pk : held);
    }
    for (int ch = 0; ch < 2; ch++) {
        float *x = bus[ch];
        for (int i = 0; i < n; i++) {
            float g = g0 == g1 ? (float)g1 : (float)(g0 + (g1 - g0) * (double)(i + 1) / n);  /* no zipper */
            float y = knee(x[i] * g);
            x[i] = fminf(fmaxf(y, -1.0f), 1.0f);             /* the hard guarantee */
        }
    }
}

/* one block of at most max_block frames starting at sample time t0 */
static void block(rt_core *c, int n, int64_t t0) {
    refresh_maps(c);
    c->clock_next = t0;                                   /* sample times of this block's hits */
    apply_events(c, t0, n);
    memset(c->bus0, 0, n * sizeof(float));
    memset(c->bus1, 0, n * sizeof(float));
    if (c->pad_bus)
        for (int p = 0; p < c->P; p++) memset(c->pad_bus + (size_t)p * c->cfg.max_block, 0, n * sizeof(float));
    int on = 0, sounding = 0;
    for (int v = 0; v < c->VT; v++) if (c->v[v].on) mix_voice(c, v, n);
    for (int v = 0; v < c->VT; v++) if (c->v[v].on) { on++; if (!c->v[v].fade_rem) sounding++; }
    ack_maps(c);
    output_stage(c, n);
    STORE(&c->sh.stats[ST_VOICES], on);
    STORE(&c->sh.stats[ST_SOUNDING], sounding);
    stat_add(c, ST_FRAMES, n);
    STORE(&c->clock_next, t0 + n);
}

static inline float clip1(float x) { return fminf(fmaxf(x, -1.0f), 1.0f); }

void rt_render_interleaved(rt_core *c, float *out, int64_t n, int channels, int64_t t0) {
    int mb = c->cfg.max_block;
    STORE(&c->sh.stats[ST_BLOCK], n);
    if (n > mb) stat_add(c, ST_SPLITS, 1);
    for (int64_t off = 0; off < n; off += mb) {
        int m = (int)(n - off < mb ? n - off : mb);
        block(c, m, t0 + off);
        float *o = out + off * channels;
        for (int i = 0; i < m; i++) {
            float *f = o + (size_t)i * channels;
            f[0] = c->bus0[i];
            if (channels > 1) f[1] = c->bus1[i];
            for (int k = 2; k < channels; k++)
                f[k] = (c->pad_bus && k - 2 < c->P) ? clip1(c->pad_bus[(size_t)(k - 2) * mb + i]) : 0.0f;
        }
    }
}

void rt_render_planar(rt_core *c, float **outs, int64_t n, int channels, int64_t t0) {
    int mb = c->cfg.max_block;
    STORE(&c->sh.stats[ST_BLOCK], n);
    if (n > mb) stat_add(c, ST_SPLITS, 1);
    for (int64_t off = 0; off < n; off += mb) {
        int m = (int)(n - off < mb ? n - off : mb);
        block(c, m, t0 + off);
        for (int k = 0; k < channels; k++) {
            float *o = outs[k] + off;
            if (k == 0) memcpy(o, c->bus0, m * sizeof(float));
            else if (k == 1) memcpy(o, c->bus1, m * sizeof(float));
            else if (c->pad_bus && k - 2 < c->P)
                for (int i = 0; i < m; i++) o[i] = clip1(c->pad_bus[(size_t)(k - 2) * mb + i]);
            else memset(o, 0, m * sizeof(float));
        }
    }
}

void rt_process(rt_core *c, float *out, int64_t n, int channels) {
    rt_render_interleaved(c, out, n, channels, c->clock_next);
}

/* ------------------------------------------------------------------ clock */
void rt_set_jack(rt_core *c, void *j, int64_t (*now)(void *, int64_t)) { c->jack = j; c->jack_now = now; }
void rt_jack_cycle(rt_core *c, int64_t base) { atomic_store_explicit(&c->jack_base, base, memory_order_release); }

static void track_epoch(rt_core *c, int64_t t_ns, int64_t frame) {
    /* callbacks wake late, never early: follow the earliest wake at once, later ones slowly
       (clock drift), and restart after a gap (an xrun) */
    double e = (double)t_ns - (double)frame * 1e9 / c->cfg.sample_rate;
    if (!c->epoch_valid || e < c->epoch_est || e - c->epoch_est > 4e6) {
        c->epoch_est = e;
        c->epoch_valid = 1;
    } else {
        c->epoch_est += (e - c->epoch_est) * 0.002;
    }
    int64_t ep = (int64_t)c->epoch_est;
    atomic_store_explicit(&c->epoch_ns, ep ? ep : 1, memory_order_release);
}

int64_t rt_now_frame(rt_core *c) {
    if (c->jack) {
        int64_t base = atomic_load_explicit(&c->jack_base, memory_order_acquire);
        return c->jack_now(c->jack, base);
    }
    int64_t ep = atomic_load_explicit(&c->epoch_ns, memory_order_acquire);
    if (ep == 0) return LOAD(&c->clock_next);             /* offline: no wall clock, the next block */
    return (int64_t)((double)(now_ns() - ep) * c->cfg.sample_rate * 1e-9);
}

/* ------------------------------------------------------------------ PortAudio */
static void record_timing(rt_core *c, int64_t t0) {
    int64_t k = LOAD(&c->sh.stats[ST_CALLBACKS]);
    if (k == 0) STORE(&c->sh.stats[ST_POLICY], sched_getscheduler(0) + 1);   /* once */
    c->sh.durations[k & (N_TIMINGS - 1)] = (now_ns() - t0) * 1e-9;
    STORE(&c->sh.stats[ST_CALLBACKS], k + 1);
}

void rt_callback_done(rt_core *c, int64_t t0) { record_timing(c, t0); }
void rt_stat_add(rt_core *c, int k, int64_t d) { if (k >= 0 && k < ST_N) stat_add(c, k, d); }
int64_t rt_clock_ns(void) { return now_ns(); }

int rt_pa_callback(const void *in, void *out, unsigned long frames, const rt_pa_time *ti,
                   unsigned long flags, void *user) {
    (void)ti;
    rt_core *c = user;
    int64_t t0 = now_ns();
    if (flags & 0x4) stat_add(c, ST_XRUNS, 1);            /* paOutputUnderflow */
    if (flags & 0x2) stat_add(c, ST_INPUT_OVERFLOWS, 1);  /* paInputOverflow */
    if (in && c->in_buf && c->pa_in_ch > 0) {             /* capture: one channel into the input ring */
        const float *x = in;
        int ch = c->in_ch < c->pa_in_ch ? c->in_ch : 0;
        int64_t w = LOAD(&c->in_idx[0]);
        for (unsigned long i = 0; i < frames; i++)
            c->in_buf[(w + (int64_t)i) & c->in_mask] = x[i * c->pa_in_ch + ch];
        atomic_store_explicit(A64(&c->in_idx[0]), w + (int64_t)frames, memory_order_release);
        STORE(&c->in_idx[1], LOAD(&c->in_idx[1]) + 1);
    }
    int64_t t = c->clock_next;
    track_epoch(c, t0, t);
    rt_render_interleaved(c, out, (int64_t)frames, c->pa_out_ch, t);
    record_timing(c, t0);
    return 0;                                             /* paContinue */
}
