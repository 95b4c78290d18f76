/* JACK backend: a JACK client whose process callback is the core, plus a JACK MIDI input
 * read in the same callback, so each message keeps its frame (sample-accurate timing).
 *
 * libjack is opened with dlopen when the backend starts: no JACK headers at build time and
 * no link-time dependency (the instrument still runs, through PortAudio, without libjack).
 * MIDI bytes are parsed with the rules the Python router uses (a hardware synth's): real-time
 * bytes (F8-FF) may appear anywhere and are dropped, any status byte ends a sysex, data bytes
 * after a channel message reuse its status (running status; sysex and system common, EOX
 * included, cancel it), data bytes with no status are junk. The parser's state carries from
 * one JACK event to the next, as a DIN byte stream's would.
 */
#define _GNU_SOURCE
#include "rtcore.h"
#include <dlfcn.h>
#include <errno.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef uint32_t jnf;
typedef struct { jnf time; size_t size; uint8_t *buffer; } jmidi_ev;

struct jack_api {
    void *(*client_open)(const char *, int, int *, ...);
    int (*client_close)(void *);
    void *(*port_register)(void *, const char *, const char *, unsigned long, unsigned long);
    int (*set_process_callback)(void *, int (*)(jnf, void *), void *);
    int (*set_xrun_callback)(void *, int (*)(void *), void *);
    int (*activate)(void *);
    int (*deactivate)(void *);
    void *(*port_get_buffer)(void *, jnf);
    uint32_t (*midi_get_event_count)(void *);
    int (*midi_event_get)(jmidi_ev *, void *, uint32_t);
    jnf (*last_frame_time)(const void *);
    jnf (*frame_time)(const void *);
    jnf (*get_sample_rate)(void *);
    jnf (*get_buffer_size)(void *);
    int (*connect)(void *, const char *, const char *);
    const char *(*port_name)(const void *);
    void (*on_shutdown)(void *, void (*)(void *), void *);
};

#define MAX_OUT 64
struct rt_jack {
    struct jack_api api;
    void *lib, *client;
    rt_core *core;
    int n_out;
    void *out[MAX_OUT], *midi_port;
    float *bufs[MAX_OUT];
    rt_ring_hdr *midi;
    sem_t sem;
    int64_t base;
    int have_base;
    /* MIDI parser state */
    uint8_t msg[3], running;
    int n, need, sysex;
    atomic_int gone;                                     /* the server shut down or dropped us */
};

void rt_set_jack(rt_core *c, void *j, int64_t (*now)(void *, int64_t));
void rt_jack_cycle(rt_core *c, int64_t base);
void rt_callback_done(rt_core *c, int64_t t0);
int64_t rt_clock_ns(void);
void rt_stat_add(rt_core *c, int k, int64_t d);

static int64_t unwrap(int64_t base, jnf now32) { return base + (int32_t)(now32 - (jnf)base); }

static int64_t jack_now(void *jp, int64_t base) {
    rt_jack *j = jp;
    return unwrap(base, j->api.frame_time(j->client));
}

static void emit(rt_jack *j, int64_t frame, const uint8_t *d, int len) {
    rt_ring_hdr *h = j->midi;
    int64_t w = atomic_load_explicit(&h->write, memory_order_relaxed);
    int64_t r = atomic_load_explicit(&h->read, memory_order_acquire);
    if (w - r >= h->capacity) { atomic_fetch_add_explicit(&h->dropped, 1, memory_order_relaxed); return; }
    rt_midi *m = (rt_midi *)(h + 1) + (w & (h->capacity - 1));
    m->frame = frame;
    m->len = (uint8_t)len;
    memcpy(m->data, d, len);
    atomic_store_explicit(&h->write, w + 1, memory_order_release);
}

static int need_for(uint8_t st) {
    switch (st & 0xF0) {
    case 0xC0: case 0xD0: return 2;
    case 0xF0: return st == 0xF2 ? 3 : (st == 0xF1 || st == 0xF3) ? 2 : 1;
    default: return 3;
    }
}

static int parse(rt_jack *j, int64_t frame, const uint8_t *b, size_t len) {
    static const uint8_t sysex_end[2] = {0xF0, 0xF7};
    int out = 0;
    for (size_t i = 0; i < len; i++) {
        uint8_t x = b[i];
        if (x >= 0xF8) continue;                          /* real-time: anywhere, never a status change */
        if (x & 0x80) {
            /* any status ends a sysex; the router is told once per sysex, when it ends: F0 F7
             * when terminated, a lone F0 (its "unterminated") when another status cut it */
            if (j->sysex) {
                j->sysex = 0;
                emit(j, frame, sysex_end, x == 0xF7 ? 2 : 1); out++;
            }
            j->n = 0;                                     /* a message cut short by this status is junk */
            if (x == 0xF0) { j->sysex = 1; j->running = 0; continue; }
            if (x == 0xF7) { j->running = 0; continue; }  /* EOX is system common: cancels running status */
            j->running = x < 0xF0 ? x : 0;
            j->msg[0] = x; j->n = 1; j->need = need_for(x);
            if (j->need == 1) { emit(j, frame, j->msg, 1); out++; j->n = 0; }
            continue;
        }
        if (j->sysex) continue;
        if (j->n == 0) {
            if (!j->running) continue;                    /* data without a status: junk */
            j->msg[0] = j->running; j->n = 1; j->need = need_for(j->running);
        }
        j->msg[j->n++] = x;
        if (j->n >= j->need) { emit(j, frame, j->msg, j->n); out++; j->n = 0; }
    }
    return out;
}

static int process(jnf nframes, void *arg) {
    rt_jack *j = arg;
    int64_t t0 = rt_clock_ns();
    jnf last = j->api.last_frame_time(j->client);
    if (!j->have_base) { j->base = last; j->have_base = 1; }
    else j->base = unwrap(j->base, last);
    rt_jack_cycle(j->core, j->base);
    if (j->midi_port) {
        void *mb = j->api.port_get_buffer(j->midi_port, nframes);
        uint32_t cnt = j->api.midi_get_event_count(mb);
        int got = 0;
        for (uint32_t i = 0; i < cnt; i++) {
            jmidi_ev ev;
            if (j->api.midi_event_get(&ev, mb, i) == 0) got += parse(j, j->base + ev.time, ev.buffer, ev.size);
        }
        if (got) {
            rt_stat_add(j->core, ST_MIDI_IN, got);
            sem_post(&j->sem);                            /* wake the router thread */
        }
    }
    for (int k = 0; k < j->n_out; k++) j->bufs[k] = j->api.port_get_buffer(j->out[k], nframes);
    rt_render_planar(j->core, j->bufs, nframes, j->n_out, j->base);
    rt_callback_done(j->core, t0);
    return 0;
}

static int on_xrun(void *arg) {
    rt_jack *j = arg;
    rt_stat_add(j->core, ST_JACK_XRUNS, 1);
    return 0;
}

/* libjack's own thread, when the server stops or throws the client out: no JACK call is
 * allowed here, so the flag is all; the owner closes the client from its own thread. */
static void silent(const char *msg) { (void)msg; }

static void on_shutdown(void *arg) {
    rt_jack *j = arg;
    atomic_store_explicit(&j->gone, 1, memory_order_release);
    sem_post(&j->sem);                                    /* the MIDI thread sees it at once */
}

#define SYM(field, name) do { *(void **)&j->api.field = dlsym(j->lib, name); \
    if (!j->api.field) { snprintf(err, errlen, "libjack lacks %s", name); goto fail; } } while (0)

rt_jack *rt_jack_open(rt_core *c, const char *client, const char *server, int n_out, int midi_in,
                      rt_ring_hdr *midi_ring, char *err, int errlen) {
    rt_jack *j = calloc(1, sizeof *j);
    if (!j) { snprintf(err, errlen, "out of memory"); return NULL; }
    if (n_out > MAX_OUT) n_out = MAX_OUT;
    j->core = c; j->n_out = n_out; j->midi = midi_ring;
    sem_init(&j->sem, 0, 0);
    j->lib = dlopen("libjack.so.0", RTLD_NOW | RTLD_LOCAL);
    if (!j->lib) { snprintf(err, errlen, "cannot load libjack.so.0 (install jackd2): %s", dlerror()); goto fail; }
    SYM(client_open, "jack_client_open"); SYM(client_close, "jack_client_close");
    SYM(port_register, "jack_port_register"); SYM(set_process_callback, "jack_set_process_callback");
    SYM(set_xrun_callback, "jack_set_xrun_callback"); SYM(activate, "jack_activate");
    SYM(deactivate, "jack_deactivate"); SYM(port_get_buffer, "jack_port_get_buffer");
    SYM(midi_get_event_count, "jack_midi_get_event_count"); SYM(midi_event_get, "jack_midi_event_get");
    SYM(last_frame_time, "jack_last_frame_time"); SYM(frame_time, "jack_frame_time");
    SYM(get_sample_rate, "jack_get_sample_rate"); SYM(get_buffer_size, "jack_get_buffer_size");
    SYM(connect, "jack_connect"); SYM(port_name, "jack_port_name");
    SYM(on_shutdown, "jack_on_shutdown");
    int status = 0;
    /* JackNoStartServer (1) | JackServerName (4) */
    j->client = server && *server ? j->api.client_open(client, 1 | 4, &status, server)
                                  : j->api.client_open(client, 1, &status);
    if (!j->client) {
        snprintf(err, errlen, "no JACK server '%s' running (status 0x%x): start one, e.g. jackd -d dummy",
                 server && *server ? server : "default", status);
        goto fail;
    }
    for (int k = 0; k < n_out; k++) {
        char name[32];
        snprintf(name, sizeof name, "out_%d", k + 1);
        j->out[k] = j->api.port_register(j->client, name, "32 bit float mono audio", 0x2 | 0x10, 0);
        if (!j->out[k]) { snprintf(err, errlen, "cannot register JACK port %s", name); goto fail; }
    }
    if (midi_in) {
        j->midi_port = j->api.port_register(j->client, "midi_in", "8 bit raw midi", 0x1, 0);
        if (!j->midi_port) { snprintf(err, errlen, "cannot register the JACK MIDI input"); goto fail; }
    }
    j->api.set_process_callback(j->client, process, j);
    j->api.set_xrun_callback(j->client, on_xrun, j);
    j->api.on_shutdown(j->client, on_shutdown, j);
    rt_set_jack(c, j, jack_now);
    if (j->api.activate(j->client)) { snprintf(err, errlen, "cannot activate the JACK client"); goto fail; }
    return j;
fail:
    rt_set_jack(c, NULL, NULL);
    if (j->client) j->api.client_close(j->client);
    if (j->lib) dlclose(j->lib);
    sem_destroy(&j->sem);
    free(j);
    return NULL;
}

int rt_jack_connect(rt_jack *j, const char *src, const char *dst) { return j->api.connect(j->client, src, dst); }
const char *rt_jack_port_name(rt_jack *j, int index) {
    if (index >= 0 && index < j->n_out) return j->api.port_name(j->out[index]);
    if (index == j->n_out && j->midi_port) return j->api.port_name(j->midi_port);
    return NULL;
}
int rt_jack_alive(rt_jack *j) { return !atomic_load_explicit(&j->gone, memory_order_acquire); }

/* Silence libjack's error printing (quiet = 1) or restore its default (0): asking a server
 * that is not there yet prints five lines per try, and reconnecting tries every second. */
void rt_jack_quiet(int quiet) {
    void *lib = dlopen("libjack.so.0", RTLD_NOW | RTLD_LOCAL);
    if (!lib) return;
    void (*set)(void (*)(const char *)) = (void (*)(void (*)(const char *)))dlsym(lib, "jack_set_error_function");
    if (set) set(quiet ? silent : NULL);
    dlclose(lib);
}

int rt_jack_rate(rt_jack *j) { return (int)j->api.get_sample_rate(j->client); }
int rt_jack_period(rt_jack *j) { return (int)j->api.get_buffer_size(j->client); }

int rt_midi_wait(rt_jack *j, int timeout_ms) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += (long)timeout_ms * 1000000L;
    ts.tv_sec += ts.tv_nsec / 1000000000L;
    ts.tv_nsec %= 1000000000L;
    int r = sem_timedwait(&j->sem, &ts) == 0;
    while (sem_trywait(&j->sem) == 0) {}                  /* one wake-up drains everything */
    return r;
}

void rt_jack_close(rt_jack *j) {
    if (!j) return;
    if (rt_jack_alive(j)) j->api.deactivate(j->client);   /* a dead server's client is only closed */
    j->api.client_close(j->client);
    rt_set_jack(j->core, NULL, NULL);
    dlclose(j->lib);
    sem_destroy(&j->sem);
    free(j);
}
