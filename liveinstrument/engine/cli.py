"""`drumgan live` and `drumgan render` (registered by liveinstrument.cli)."""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


def register(subparsers) -> None:
    p = subparsers.add_parser("live", help="play the instrument live from MIDI/OSC (real-time audio out)",
                              description="Play DrumGAN Live: pads rendered by the generator, triggered "
                                          "from MIDI and OSC, mixed in real time.")
    add_live_args(p)
    p.set_defaults(func=run_live)
    r = subparsers.add_parser("render", help="render a MIDI performance offline through the engine",
                              description="Play a MIDI file through the same engine offline, "
                                          "sample-accurately and deterministically for a seed.")
    r.add_argument("midi", help="performance .mid file")
    r.add_argument("--out", required=True, help="output WAV")
    r.add_argument("--kit", help="kit to play: a kit.yaml, a kit folder, or a saved kit's name")
    r.add_argument("--mapping", help="mapping file or shipped name (notes, channels, velocity curve, CCs "
                                     "apply as live); default: gm-default")
    r.add_argument("--seed", type=int, default=0, help="seed for the default kit and round-robin (default 0)")
    r.add_argument("--samplerate", type=int, default=44_100)
    r.add_argument("--models", help="models directory (default: your trained models, else the shipped ones)")
    r.add_argument("--random-model", action="store_true", help="untrained generator (development)")
    r.set_defaults(func=run_render)


def add_live_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--list-devices", action="store_true", help="list audio devices and exit")
    p.add_argument("--audio", choices=("auto", "jack", "portaudio"), default="auto",
                   help="audio system: jack = the core as a JACK client that also reads JACK MIDI itself "
                        "(each note at its frame); portaudio = a PortAudio stream; auto (default): jack when "
                        "a JACK server runs and neither --audio-device nor audio input is asked for")
    p.add_argument("--audio-device", help="output device index or name substring; 'null' runs without sound")
    p.add_argument("--samplerate", type=int, help="default: the device's rate (44100 or 48000)")
    p.add_argument("--blocksize", type=int, default=128, help="frames per audio block (default 128)")
    p.add_argument("--timing", choices=("constant", "immediate"), default="constant",
                   help="constant (default): each live hit plays one block after it arrived, at its own "
                        "sample, so latency never jitters; immediate: at the start of the next block "
                        "(lower average latency, up to a block of jitter)")
    p.add_argument("--renderer-threads", type=int, default=None,
                   help="torch threads of the renderer process (default: 1 on <= 2 cores, else cores-1, max 8)")
    from ..control.surfaces import add_control_arguments
    add_control_arguments(p)   # --midi-in, --midi-api, --jack-server, --osc-port, --osc-host, --osc-allow, --mapping
    from ..web.launch import add_web_arguments
    add_web_arguments(p)       # --web-port, --web-host, --no-web
    p.add_argument("--kit", help="kit to load: a kit.yaml, a kit folder, or a saved kit's name")
    p.add_argument("--headless", action="store_true", help="no status view")
    p.add_argument("--allow-dir", action="append", default=[], metavar="DIR",
                   help="a folder OSC/web analyze requests may read from, besides your sample and kit "
                        "folders (repeatable)")
    p.add_argument("--duration", type=float, help="stop after this many seconds (scripted runs)")
    p.add_argument("--models", help="models directory (default: your trained models, else the shipped ones)")
    p.add_argument("--random-model", action="store_true", help="untrained generator (development)")
    p.add_argument("--voices", type=int, default=32, help="polyphony (default 32)")
    p.add_argument("--per-pad-outputs", action="store_true", help="extra mono output per pad (DAW mixing)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--demo-out", default="out/demo.wav",
                   help="where the demo groove goes when no audio device exists (default out/demo.wav)")
    g = p.add_argument_group("audio input (capture / beatbox; see liveinstrument/capture/README.md)")
    g.add_argument("--input-device", help="input device index or name substring (default: the output "
                                          "device when it has inputs); enables capture")
    g.add_argument("--input-channel", type=int, default=1, help="input channel to listen to (1-based, default 1)")
    g.add_argument("--beatbox", action="store_true", help="every input onset plays a drum at once "
                                                          "(kick / snare / hat decided from the first ms)")
    g.add_argument("--beatbox-pads", type=int, nargs=3, default=[1, 2, 3], metavar=("KICK", "SNARE", "HAT"),
                   help="pads the three classes play (default 1 2 3: GM kick, snare, closed hat)")
    g.add_argument("--decision-ms", type=float, default=6.0,
                   help="ms of input after an onset the class decision waits for (2-12; default 6)")
    g.add_argument("--onset-k", type=float, default=5.0,
                   help="onset threshold: median + K x MAD of the onset strength (lower = more sensitive)")
    g.add_argument("--input-gate", type=float, default=-50.0, help="ignore input below this dBFS (default -50)")
    g.add_argument("--beatbox-refine", action="store_true",
                   help="also analyse each hit with the encoder and move the class pad towards it")


def _start_controls(inst, args, core_midi=None):
    """Start MIDI/OSC on the instrument; a failure is one line and the sound goes on without them."""
    from ..control.surfaces import ControlSurfaces
    try:
        surfaces = ControlSurfaces.from_args(inst, args, core_midi=core_midi).start()
    except Exception as exc:  # controls are optional for the sound; say why in one line
        print(f"MIDI/OSC control failed to start: {exc.__class__.__name__}: {exc}")
        return None
    for line in surfaces.describe():
        print(line)
    return surfaces

def _demo(args) -> int:
    """The no-sound-card path of `drumgan live`: the demo groove through the same engine, to a WAV."""
    import tempfile
    from ..control.midi_file import render_midi
    from .demo import demo_midi
    try:
        with tempfile.TemporaryDirectory() as tmp:
            info = render_midi(demo_midi(Path(tmp) / "demo.mid"), args.demo_out, seed=args.seed,
                               models_dir=args.models)
    except (OSError, ValueError) as exc:
        print(f"demo render failed: {exc}", file=sys.stderr)
        return 1
    _print_render(info, " -- listen to it with any audio player")
    return 0


def _print_render(info: dict, suffix: str = "") -> None:
    print(f"{info['out']}: {info['hits']} hits, {info['seconds']:.2f} s, peak {info['peak']:.3f}, "
          f"model {info['model_hash']}{suffix}")


def _allowed_dirs(args) -> list:
    from .file_guard import default_allowed
    return default_allowed() + [Path(d) for d in getattr(args, "allow_dir", [])]


def _exit_on_signals() -> None:
    """SIGTERM and SIGHUP (systemd, ``timeout``, a closed terminal) end the run like Ctrl-C:
    the main loop unwinds and every part shuts down in order."""
    import signal

    def stop(signum, _frame):
        raise SystemExit(128 + signum)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        try:
            signal.signal(sig, stop)
        except (ValueError, OSError):   # not the main thread (embedded use): leave them be
            pass


def _arm_exit_watchdog(seconds: float = 2.0) -> None:
    """Shutdown must end: if it is not done in ``seconds``, leave at once. The renderer dies
    with us (it watches its parent) and the resource tracker then frees the shared memory."""
    import os
    import threading

    def fire():
        print(f"shutdown took longer than {seconds:.0f} s: exiting now", file=sys.stderr, flush=True)
        os._exit(1)
    t = threading.Timer(seconds, fire)
    t.daemon = True
    t.start()


def _jack_rate(args) -> int | None:
    """The JACK server's sample rate when the core should run as a JACK client, else None."""
    if args.audio == "portaudio" or args.audio_device is not None:
        return None
    if args.audio == "auto" and (getattr(args, "input_device", None) or getattr(args, "beatbox", False)):
        return None                           # audio input (capture) runs through PortAudio's duplex stream
    from .jack_out import jack_server_rate
    return jack_server_rate(args.jack_server)


def run_live(args) -> int:
    """``drumgan live``. Ends the process itself once every part is closed (renderers stopped,
    shared memory unlinked, streams and ports closed): the interpreter's own finalisation then
    has nothing left to release but took seconds on a busy machine, with the exit watchdog's
    thread already frozen, so SIGTERM's 2 s bound did not hold."""
    import os
    _exit_on_signals()
    try:
        rc = _run_live(args)
    except SystemExit as exc:          # SIGTERM/SIGHUP (see _exit_on_signals), after the cleanup ran
        rc = exc.code if isinstance(exc.code, int) else 1
    except KeyboardInterrupt:
        rc = 130
    import atexit
    atexit._run_exitfuncs()   # multiprocessing's finalisers (queues, semaphores) while the watchdog still runs
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(rc)


def _run_live(args) -> int:
    from .audio_out import AudioOut, NullOut, find_output_device, rescan_devices
    if args.audio == "jack" and args.audio_device is not None:
        print("drumgan live: --audio jack has no devices (JACK connects ports); leave out --audio-device",
              file=sys.stderr)
        return 2
    jack_rate = None if args.list_devices else _jack_rate(args)
    if args.audio == "jack" and jack_rate is None and not args.list_devices:
        print("drumgan live: --audio jack needs a running JACK server (start one, e.g. 'jackd -d dummy', "
              "or name it with --jack-server); --audio portaudio uses PortAudio instead", file=sys.stderr)
        return 2
    if jack_rate is not None:
        return _run_live_jack(args, jack_rate)
    try:
        import sounddevice as sd
        rescan_devices()
    except OSError as exc:
        sd = None
        if args.audio_device is None:
            print(f"no audio: PortAudio unavailable ({exc}); rendering the demo groove offline instead "
                  f"(play your own with 'drumgan render PERFORMANCE.mid --out OUT.wav')")
            return _demo(args)
        if args.audio_device != "null":
            print(f"no audio: PortAudio unavailable ({exc}); render offline with 'drumgan render PERFORMANCE.mid --out OUT.wav'")
            return 1
    if args.list_devices:
        print(sd.query_devices() if sd else "no PortAudio")
        return 0
    null = args.audio_device == "null"
    dev = None if null else find_output_device(args.audio_device)
    if dev is None and not null:
        if args.audio_device is None:
            print("no audio output device found: rendering the demo groove offline instead (play your own "
                  "with 'drumgan render PERFORMANCE.mid --out OUT.wav', or run silently with --audio-device null)")
            return _demo(args)
        print(f"no audio: '{args.audio_device}' not found (see --list-devices); render offline with "
              f"'drumgan render PERFORMANCE.mid --out OUT.wav' (or --audio-device null to run silently)")
        return 1
    sr = args.samplerate or (int(sd.query_devices(dev)["default_samplerate"]) if dev is not None else 44_100)
    problem = preflight(args)
    if problem:
        print(f"drumgan live: {problem}", file=sys.stderr)
        return 2
    from .instrument import Instrument
    models = Path(args.models) if args.models else None
    random_model = 0 if args.random_model else False
    t0 = time.monotonic()
    with Instrument(sample_rate=sr, models_dir=models, random_model=random_model, kit=args.kit,
                    max_voices=args.voices, per_pad_outputs=args.per_pad_outputs, seed=args.seed,
                    renderer_threads=args.renderer_threads, renderer_standby=True,
                    allow_dirs=_allowed_dirs(args), timing=args.timing) as inst:
        cap = _make_capture(inst, args, null)
        out = NullOut(inst, args.blocksize) if null else AudioOut(
            inst, dev, sr, args.blocksize, channels=2 + (inst.n_pads if args.per_pad_outputs else 0),
            input_sink=cap.ring if cap else None, input_device=getattr(args, "input_device", None))
        controls = _start_controls(inst, args)
        from ..web.launch import start_web
        web = start_web(inst, out, controls, args)
        try:
            with out:
                if cap is not None:
                    cap.start()
                try:
                    _loop(inst, out, args, t0, controls)
                finally:
                    _arm_exit_watchdog()
        finally:
            if cap is not None:
                cap.stop()
            if controls is not None and hasattr(controls, "close"):
                controls.close()
            if web is not None:
                web.stop()
        summary = {**out.stats(), "hits": inst.mixer.hits, "renders": inst.counters["render_requests"]}
        if cap is not None:
            summary["capture"] = cap.stats()
        print(json.dumps(summary))
    return 0


def _run_live_jack(args, rate: int) -> int:
    """`drumgan live` with the core as a JACK client (audio out + JACK MIDI in, in C)."""
    problem = preflight(args)
    if problem:
        print(f"drumgan live: {problem}", file=sys.stderr)
        return 2
    from .instrument import Instrument
    from .jack_out import JackError, JackOut
    if args.samplerate and args.samplerate != rate:
        print(f"drumgan live: the JACK server runs at {rate} Hz, not --samplerate {args.samplerate}", file=sys.stderr)
        return 2
    if getattr(args, "input_device", None) or getattr(args, "beatbox", False):
        print("audio input (capture/beatbox) runs through PortAudio: add --audio portaudio; playing without it")
    t0 = time.monotonic()
    with Instrument(sample_rate=rate, models_dir=Path(args.models) if args.models else None,
                    random_model=0 if args.random_model else False, kit=args.kit,
                    max_voices=args.voices, per_pad_outputs=args.per_pad_outputs, seed=args.seed,
                    renderer_threads=args.renderer_threads, renderer_standby=True,
                    allow_dirs=_allowed_dirs(args), timing=args.timing) as inst:
        out = JackOut(inst, server=args.jack_server, channels=2 + (inst.n_pads if args.per_pad_outputs else 0))
        try:
            out.start()
        except JackError as exc:
            print(f"drumgan live: {exc} (or use --audio portaudio)", file=sys.stderr)
            return 1
        print(f"audio: {out.device_name}, {out.blocksize} frames at {rate} Hz, timing {args.timing}")
        controls = _start_controls(inst, args, core_midi=out)
        from ..web.launch import start_web
        web = start_web(inst, out, controls, args)
        try:
            try:
                _loop(inst, out, args, t0, controls)
            finally:
                _arm_exit_watchdog()
        finally:
            if controls is not None and hasattr(controls, "close"):
                controls.close()
            if web is not None:
                web.stop()
            out.stop()
        print(json.dumps({**out.stats(), "hits": inst.mixer.hits, "renders": inst.counters["render_requests"]}))
    return 0


def _make_capture(inst, args, null: bool):
    """A Capture (audio input analysis) when --input-device or --beatbox asks for one."""
    if not (getattr(args, "input_device", None) or getattr(args, "beatbox", False)):
        return None
    if null:
        print("audio input needs an audio device: capture/beatbox off with --audio-device null")
        return None
    from ..capture import Capture
    return Capture(inst, beatbox=args.beatbox, class_pads=tuple(args.beatbox_pads), decision_ms=args.decision_ms,
                   input_channel=max(0, args.input_channel - 1), onset_k=args.onset_k, gate_dbfs=args.input_gate,
                   refine=args.beatbox_refine)


def _loop(inst, out, args, t0, controls=None) -> None:
    t_end = time.monotonic() + args.duration if args.duration else None
    if args.headless:
        while t_end is None or time.monotonic() < t_end:
            time.sleep(0.25)
            out.housekeeping()
        return
    from rich.live import Live
    from .status_keys import KeyReader
    from .status_view import render_status

    def lines() -> list[str]:   # what the controls say about themselves (MIDI ports, OSC)
        return controls.status_lines() if controls is not None and hasattr(controls, "status_lines") else []

    with KeyReader(inst) as keys, Live(render_status(inst, out, t0, lines(), keys), refresh_per_second=4,
                                       screen=False) as live:
        while (t_end is None or time.monotonic() < t_end) and not keys.quit.is_set():
            time.sleep(0.25)
            out.housekeeping()
            live.update(render_status(inst, out, t0, lines(), keys))


def preflight(args) -> str | None:
    """Everything a run needs that may be absent, checked before any slow work (the instrument
    takes tens of seconds to build): the MIDI file, the kit, the mapping, the models. Returns the
    one line to print, or None. Sets ``args.kit`` to the resolved kit file."""
    from .. import paths
    midi = getattr(args, "midi", None)
    if midi is not None:
        if not Path(midi).is_file():
            return f"{midi}: no such MIDI file (give a .mid performance; 'drumgan live' plays live instead)"
        import mido
        try:
            mido.MidiFile(str(midi))
        except (OSError, ValueError, EOFError, KeyError, IndexError) as exc:
            return f"{midi}: not a readable MIDI file ({exc.__class__.__name__}: {exc}); export it as a standard .mid"
    if args.kit:
        try:
            args.kit = str(paths.resolve_kit(args.kit))
        except FileNotFoundError as exc:
            return str(exc)
        from .state import load_kit
        try:
            load_kit(args.kit)            # every bad field is one line, before the engine starts
        except (OSError, ValueError) as exc:
            return f"{exc} (fix the kit file, or leave out --kit for the default kit)"
    if getattr(args, "mapping", None):
        from ..control.mapping import MappingError, load_mapping
        try:
            load_mapping(args.mapping)
        except MappingError as exc:
            return str(exc).splitlines()[0] + (" (run 'drumgan control check' on it)" if "\n" in str(exc) else "")
    if not args.random_model:
        gen = paths.models_dir(args.models) / "generator.safetensors"
        if not gen.is_file():
            return (f"no trained generator at {gen}: train one with 'drumgan train gan', "
                    f"give --models DIR, or play an untrained one with --random-model")
    return None


def run_render(args) -> int:
    from ..control.midi_file import render_midi
    problem = preflight(args)
    if problem:
        print(f"drumgan render: {problem}", file=sys.stderr)
        return 2
    try:
        info = render_midi(args.midi, args.out, kit=args.kit, mapping=args.mapping, seed=args.seed,
                           models_dir=args.models, random_model=0 if args.random_model else False,
                           sample_rate=args.samplerate)
    except (OSError, ValueError) as exc:
        print(f"render failed: {exc}", file=sys.stderr)
        return 1
    _print_render(info)
    return 0
