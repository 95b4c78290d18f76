/* DrumGAN Live real-time core: the per-block code, in C so it never enters the interpreter.
 *
 * Everything the audio thread touches is allocated by rt_create (before the stream starts)
 * or by Python (numpy arrays in process or shared memory) and handed over as pointers.
 * The block code takes no lock, makes no syscall but clock_gettime (vDSO) and allocates
 * nothing (tests/native/alloc_driver.c checks that with a counting malloc).
 */
#ifndef RTCORE_H
#define RTCORE_H
#include <stdint.h>
#include <stdatomic.h>

#define RT_ABI 4                 /* bump when a signature or layout below changes */

/* note events (Python threads -> core), one SPSC ring, 32-byte records */
enum { EV_NOTE_ON = 1, EV_NOTE_OFF = 2, EV_ALL_OFF = 3 };
typedef struct {
    int64_t t;                   /* target sample time on the core's clock; < 0: next block, offset 0 */
    int32_t kind, pad;
    float vel;
    int32_t _r;
    double t_submit;             /* producer's monotonic clock in s (latency statistics only) */
} rt_event;

typedef struct {                 /* header of an SPSC ring; records follow (192 bytes) */
    _Atomic int64_t write;  int64_t _p0[7];     /* producer's index, own cache line */
    _Atomic int64_t read;   int64_t _p1[7];     /* consumer's index */
    int64_t capacity;                           /* power of two */
    _Atomic int64_t dropped;
    int64_t rec_size;
    int64_t _p2[5];
} rt_ring_hdr;

/* raw MIDI (JACK MIDI port read by the core -> Python router), 16-byte records */
typedef struct {
    int64_t frame;               /* JACK frame of the message */
    uint8_t len, data[3];
    int32_t _r;
} rt_midi;

/* counters the core writes and Python reads (int64 each) */
enum { ST_FRAMES, ST_HITS, ST_STEALS, ST_CHOKES, ST_NOT_READY, ST_HARD_KILLS, ST_NONFINITE,
       ST_CALLBACKS, ST_XRUNS, ST_SPLITS, ST_LATE, ST_EVENTS, ST_INPUT_OVERFLOWS, ST_POLICY,
       ST_LAT_N, ST_MIDI_IN, ST_MIDI_DROPPED, ST_JACK_XRUNS, ST_VOICES, ST_SOUNDING,
       ST_PENDING_FULL, ST_BLOCK, ST_N = 32 };

/* per-pad parameters Python writes (float64 each, single aligned stores) */
enum { PR_AMP, PR_PAN_L, PR_PAN_R, PR_VT, PR_CHOKE, PR_N };
#define N_TIMINGS 65536
#define N_LAT 256

typedef struct rt_core rt_core;

typedef struct {                 /* pointers Python hands over (all preallocated) */
    float *audio; int64_t *hdr; int64_t *fb;    /* the renderer's shared buffer pool + seqlock */
    rt_ring_hdr *events;
    double *params;              /* [n_pads][PR_N] then master */
    int64_t *seq, *map, *lens, *meta;           /* adopted copies (Python reads them) */
    int64_t *stats;              /* [ST_N] */
    double *durations;           /* [N_TIMINGS] callback durations in s */
    double *lat;                 /* [N_LAT] producer -> block latencies in s */
    double *limiter_gain;        /* [2]: limiter gain, output peak meter (falls 20 dB/s) */
    int64_t *last_hit_frame;     /* [n_pads] */
} rt_shared;

typedef struct {
    int n_pads, n_slots, n_bufs, buf_len;
    int max_voices, max_block, per_pad_outputs;
    double sample_rate, velocity_curve;
} rt_config;

rt_core *rt_create(const rt_config *cfg, const rt_shared *sh);
void rt_destroy(rt_core *c);
int rt_abi(void);

/* render n frames (any n: split into max_block pieces) starting at sample time t0 */
void rt_render_interleaved(rt_core *c, float *out, int64_t n, int channels, int64_t t0);
void rt_render_planar(rt_core *c, float **outs, int64_t n, int channels, int64_t t0);
void rt_process(rt_core *c, float *out, int64_t n, int channels);   /* t0 = core's running clock */
void rt_adopt(rt_core *c);                        /* adopt + ack maps outside a block (offline) */
int64_t rt_now_frame(rt_core *c);                 /* sample time now, on the core's clock */
void rt_set_input(rt_core *c, float *buf, int64_t *idx, int64_t mask, int channel);

/* PortAudio callback (userData = core) */
typedef struct { double inputBufferAdcTime, currentTime, outputBufferDacTime; } rt_pa_time;
int rt_pa_callback(const void *in, void *out, unsigned long frames, const rt_pa_time *ti,
                   unsigned long flags, void *user);
void rt_set_pa_channels(rt_core *c, int out_channels, int in_channels);

/* rings */
void rt_ring_init(rt_ring_hdr *h, int64_t capacity, int64_t rec_size);
int rt_ev_push(rt_ring_hdr *h, int64_t t, int kind, int pad, float vel, double t_submit);
int64_t rt_midi_pop(rt_ring_hdr *h, rt_midi *out, int64_t max);

/* seqlock writer (renderer): release ordering so ARM64 readers never see a torn map */
void rt_seq_publish(int64_t *hdr_row, int h_slots, const int64_t *map, int n_slots,
                    int64_t n_rr, int64_t gen, int n_rr_col, int gen_col);

/* JACK backend (libjack loaded with dlopen: no headers or link-time dependency) */
typedef struct rt_jack rt_jack;
rt_jack *rt_jack_open(rt_core *c, const char *client, const char *server, int n_out, int midi_in,
                      rt_ring_hdr *midi_ring, char *err, int errlen);
int rt_jack_connect(rt_jack *j, const char *src, const char *dst);
const char *rt_jack_port_name(rt_jack *j, int index);   /* 0..n_out-1 audio, n_out = midi in */
int rt_jack_rate(rt_jack *j);
int rt_jack_period(rt_jack *j);
int rt_jack_alive(rt_jack *j);                          /* 0 once the server shut down or dropped us */
void rt_jack_quiet(int quiet);                          /* 1: libjack prints no errors; 0: its default */
int rt_midi_wait(rt_jack *j, int timeout_ms);           /* 1 when MIDI arrived (Python waits here) */
void rt_jack_close(rt_jack *j);
#endif
